"""`make mutation`: mutation testing of the modules that move or guard money, with mutmut."""
