"""The tap tables as Core, and the statements more than one tap module runs, built once."""

from sqlalchemy import bindparam, select

from tapbank.models import Half, Tap

TAPS, HALVES = Tap.__table__, Half.__table__

HALVES_OF_TAP = select(*HALVES.c).where(HALVES.c.tap_key == bindparam("key"))
