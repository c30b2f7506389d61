// The offline outbox's store, shared by the worker (outbox.js) and the page (outbox-page.js): one IndexedDB
// database "weft-outbox" with the queued requests, the server's refusals waiting to be read, and a little meta.
"use strict";

(function (scope) {
  const QUEUE = "queue";
  const META = "meta";
  const OUTCOMES = "outcomes";

  let opened = null;

  function database() {
    if (!opened) {
      opened = new Promise((resolve, reject) => {
        const request = indexedDB.open("weft-outbox", 1);
        request.onupgradeneeded = () => {
          const db = request.result;
          db.createObjectStore(QUEUE, { keyPath: "id", autoIncrement: true });
          db.createObjectStore(OUTCOMES, { keyPath: "id", autoIncrement: true });
          db.createObjectStore(META);
        };
        request.onsuccess = () => {
          const db = request.result;
          db.onversionchange = () => { db.close(); opened = null; };
          resolve(db);
        };
        request.onerror = () => { opened = null; reject(request.error); };
      });
    }
    return opened;
  }

  function done(request) {
    return new Promise((resolve, reject) => {
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
  }

  async function objects(name, mode) {
    return (await database()).transaction(name, mode).objectStore(name);
  }

  const all = async (name) => done((await objects(name, "readonly")).getAll());

  scope.weftOutboxStore = {
    QUEUE,
    META,
    OUTCOMES,
    all,
    read: async (name, key) => done((await objects(name, "readonly")).get(key)),
    write: async (name, value, key) => done((await objects(name, "readwrite")).put(value, key)),
    forget: async (name, key) => done((await objects(name, "readwrite")).delete(key)),
    // What one agent queued on this phone, oldest first (another agent's changes wait for their owner).
    waiting: async (user) => (await all(QUEUE)).filter((entry) => entry.user === user),
  };
})(self);
