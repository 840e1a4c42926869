"""doit integration: task creators, the blake3 file checker and the packer reporter."""
