"""What two or more layers share: device selection, seeding, run folders, errors, plots."""
