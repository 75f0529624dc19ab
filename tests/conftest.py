"""Test-suite settings shared by every test module."""

from hypothesis import settings

# No per-example deadline: a deadline is a timing threshold, and timings on a shared 2-core
# machine (or under pytest-xdist) vary several-fold; a slow example is not a wrong one.
settings.register_profile("syncdx", deadline=None)
settings.load_profile("syncdx")
