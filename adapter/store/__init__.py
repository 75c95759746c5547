"""Persistent state: the database, the sender's tracking store and the receiver's inbox."""
