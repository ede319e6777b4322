"""What deploys the app beside compose.yaml: the stack's check (check_stack.py), its compose override and
the systemd units. Not installed with the product."""
