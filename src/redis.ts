/**
 * `anthropic-oauth/redis`: the Redis token store, a subpath of its own so that programs that do not
 * use it never load it, nor the `redis` package (an optional peer dependency, loaded on first use).
 */

export {
  DEFAULT_LOCK_TTL_MS,
  DEFAULT_LOCK_WAIT_MS,
  DEFAULT_REDIS_TIMEOUT_MS,
  DEFAULT_REFRESH_LEASE_MS,
  type RedisCommandClient,
  RedisTokenStore,
  type RedisTokenStoreOptions,
} from './store/redis.js';
