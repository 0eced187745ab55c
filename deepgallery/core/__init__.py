"""Pieces that several applications share: errors, assets, checkpoints, I/O, progress, seeding, devices."""
