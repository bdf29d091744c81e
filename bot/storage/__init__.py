"""Storage in Redis: connecting, the embedded server, and the keys the bot uses."""

from bot.storage.redis_server import RedisServer, find_redis_server

__all__ = ["RedisServer", "find_redis_server"]
