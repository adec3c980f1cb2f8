"""The support desk's ticket contract, shared by the router and the three task functions."""
