"""SI units and conversions.

Everything inside the model is SI: bytes, seconds, FLOP/s, bytes/s, watts, joules,
US dollars. Conversions happen only here, in config loading and in printing.
Decimal prefixes (kB, MB, GB, TB = 1e3..1e12) are used for sizes and bandwidths, as
datasheets do; binary prefixes (KiB, MiB, GiB) are kept apart and named as such.
"""

KB = 1e3
MB = 1e6
GB = 1e9
TB = 1e12

KIB = 2.0**10
MIB = 2.0**20
GIB = 2.0**30

TERA = 1e12
PETA = 1e15
MEGA = 1e6  # watts per megawatt (power), and other non-byte quantities

US = 1e-6  # microsecond, in seconds
NS = 1e-9  # nanosecond, in seconds
MS = 1e-3  # millisecond, in seconds

PJ = 1e-12  # picojoule, in joules
BITS_PER_BYTE = 8.0


def pj_per_bit_to_j_per_byte(pj_per_bit: float) -> float:
    """Energy per bit in pJ -> energy per byte in J."""
    return pj_per_bit * PJ * BITS_PER_BYTE


HOUR = 3600.0  # seconds
YEAR = 8760.0 * HOUR  # seconds; 365-day year, the convention of TCO models
KWH = 3.6e6  # kilowatt-hour, in joules
