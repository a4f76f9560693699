"""Text formats shared by the playbook and the emulator, with no dependency on either (spintax)."""
