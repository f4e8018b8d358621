/**
 * A stand-in for `@napi-rs/keyring` (its `Entry` API, synchronous like the native one) for
 * tests/keychain-worker.test.ts: it runs inside the real keychain worker thread. The service name
 * picks the behaviour:
 * - anything else: a working keychain (a Map that lives as long as the worker);
 * - `hang:MS`: every call blocks the thread for MS milliseconds (a native call stuck on a prompt), then works;
 * - `no-bus`: the constructor throws (opening the entry fails);
 * - `platform`: calls throw keyring-rs' "Platform failure: …";
 * - `denied`: calls throw another error ("Access denied");
 * - `crash`: calls end the worker thread (exit code 3);
 * - `options`: getPassword returns the constructor's options as JSON.
 */
const secrets = new Map();

class Entry {
  constructor(service, account, options) {
    if (service === 'no-bus') throw new Error('Could not connect to the D-Bus session bus');
    this.service = service;
    this.key = `${service}/${account}`;
    this.options = options;
  }

  #behave() {
    const hang = /^hang:(\d+)$/.exec(this.service);
    if (hang) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Number(hang[1]));
    if (this.service === 'platform') throw new Error('Platform failure: org.freedesktop.DBus.Error.ServiceUnknown');
    if (this.service === 'denied') throw new Error('Access denied');
    if (this.service === 'crash') process.exit(3);
  }

  getPassword() {
    this.#behave();
    if (this.service === 'options') return JSON.stringify(this.options);
    return secrets.has(this.key) ? secrets.get(this.key) : null;
  }

  setPassword(secret) {
    this.#behave();
    secrets.set(this.key, secret);
  }

  deletePassword() {
    this.#behave();
    return secrets.delete(this.key);
  }
}

module.exports = { Entry };
