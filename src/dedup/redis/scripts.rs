//! The store's Lua scripts (the compare-and-set steps: finish and release),
//! one key each (single-slot in a Cluster), and a lean way to call them: one
//! prebuilt `EVALSHA` per call, `EVAL` only when the server does not know the
//! script yet (after a restart or failover). The claim needs no script: see
//! `RedisStore::claim`.

use std::sync::LazyLock;

use redis::{Cmd, ErrorKind, RedisResult};

use crate::redis_conn::RedisConn;

/// Compare-and-set the claim to the done mark.
/// ARGV: owner, done mark, done TTL (ms).
/// Returns 1 = finished, 2 = already done, 0 = `owner` does not hold it.
pub(super) static FINISH: LazyLock<LuaScript> = LazyLock::new(|| {
    LuaScript::new(
        r"
local v = redis.call('GET', KEYS[1])
if v == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
if v == ARGV[2] then return 2 end
return 0
",
    )
});

/// Compare-and-delete the claim. ARGV: owner.
/// Returns 1 = released, 0 = not held by `owner`.
pub(super) static RELEASE: LazyLock<LuaScript> = LazyLock::new(|| {
    LuaScript::new(
        r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
",
    )
});

/// A Lua script and its SHA-1.
pub(super) struct LuaScript {
    code: &'static str,
    sha1: String,
}

impl LuaScript {
    fn new(code: &'static str) -> Self {
        // The script's digest, as Redis computes it for EVALSHA.
        let sha1 = redis::Script::new(code).get_hash().to_owned();
        Self { code, sha1 }
    }

    /// A call of this script on `key` with `args`.
    pub(super) fn call<'a>(&'a self, key: &'a str, args: &'a [Arg<'a>]) -> ScriptCall<'a> {
        ScriptCall {
            script: self,
            key,
            args,
        }
    }
}

/// One script argument.
#[derive(Clone, Copy)]
pub(super) enum Arg<'a> {
    /// A string.
    Str(&'a str),
    /// A number (TTLs in milliseconds).
    Int(u64),
}

/// A script call, ready to send.
#[derive(Clone, Copy)]
pub(super) struct ScriptCall<'a> {
    script: &'a LuaScript,
    key: &'a str,
    args: &'a [Arg<'a>],
}

impl ScriptCall<'_> {
    fn command(&self, name: &str, body: &str) -> Cmd {
        let mut cmd = redis::cmd(name);
        cmd.arg(body).arg(1).arg(self.key);
        for arg in self.args {
            match *arg {
                Arg::Str(s) => cmd.arg(s),
                Arg::Int(n) => cmd.arg(n),
            };
        }
        cmd
    }

    /// `EVALSHA`; on `NOSCRIPT`, `EVAL` (which also caches the script on
    /// that server): one round trip in the common case, two right after the
    /// server forgot its scripts.
    pub(super) async fn invoke(&self, conn: &mut RedisConn) -> RedisResult<i64> {
        match self
            .command("EVALSHA", &self.script.sha1)
            .query_async(conn)
            .await
        {
            Err(e) if e.kind() == ErrorKind::NoScriptError => {
                self.command("EVAL", self.script.code)
                    .query_async(conn)
                    .await
            }
            other => other,
        }
    }
}
