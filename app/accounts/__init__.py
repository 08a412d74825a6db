"""User accounts and login: the part of the ground every domain authenticates with."""
