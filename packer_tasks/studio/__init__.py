"""The Studio: a local web page over PackerService and its event lane (SPEC §9 and §10).

It owns no packer semantics. Every number, badge and outcome on the page comes from a
service result or event; the Studio only routes requests to the service, runs packs off the
event loop and translates events for the browser. `prometeu-packer studio` starts it.
"""
