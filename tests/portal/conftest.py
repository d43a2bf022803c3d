# The fixtures live in tests/fixtures_portal.py (shared with the browser tests); these names are
# re-exported for the test modules that import them from here.
from tests.fixtures_portal import DEMO_PASSWORD, simulator_credentials

__all__ = ["DEMO_PASSWORD", "simulator_credentials"]
