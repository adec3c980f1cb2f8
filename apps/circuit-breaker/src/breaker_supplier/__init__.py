"""A stand-in for an unreliable external supplier, whose health the tests switch."""
