"""Requests per token: a token bucket in Redis (API_RATE_PER_SECOND, bursts of API_RATE_BURST).

One Lua script takes a token from the bucket or says how long until one is back, atomically for
every web process. With Redis down the API is not rate limited (fail open): a lost cache must not
stop automation, and the per-request cost of the portal itself still bounds it.
"""

from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

_SCRIPT = """
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens, at = tonumber(state[1]), tonumber(state[2])
if tokens == nil then tokens, at = burst, now end
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local allowed = 0
local wait = 0
if tokens >= 1 then tokens = tokens - 1; allowed = 1 else wait = (1 - tokens) / rate end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 1)
return {allowed, tostring(wait), tostring(tokens)}
"""


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after: float  # seconds until a request would be let through
    remaining: int


def take(bucket: str) -> Decision:
    rate = float(settings.API_RATE_PER_SECOND)
    burst = int(settings.API_RATE_BURST)
    run = getattr(cache, "eval_script", None)
    answer = run(_SCRIPT, keys=[f"portal:api:rate:{bucket}"], args=[rate, burst]) if run else None
    if answer is None:
        return Decision(True, 0.0, burst)
    allowed, wait, left = answer
    return Decision(bool(int(allowed)), float(wait), int(float(left)))
