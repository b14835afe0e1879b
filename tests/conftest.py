import os

from hypothesis import HealthCheck, settings

# Numba compiles on first call; keep example counts modest so the suite stays fast on 2 cores.
settings.register_profile("ci", max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
