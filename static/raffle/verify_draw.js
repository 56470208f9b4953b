// Verify a kickbot raffle draw in the browser (draw proof version 1).
//
//   import { verifyProof } from "/static/raffle/verify_draw.js";
//   const result = await verifyProof(await (await fetch("proof.json")).json());
//   // result = { ok, blsVerified: false, checks: [{ name, ok, detail }, ...] }
//
// Uses WebCrypto (crypto.subtle: SHA-256, HMAC-SHA256) and BigInt. It does NOT verify the
// drand BLS signature (no pairing code in the browser): the "beacon_signature_bls" check is
// reported with ok = null (skipped). Run verify_draw.py with drand-verify installed for that.
// Checks with ok = null do not count towards `ok`; every other check must pass.

const HEX64 = /^[0-9a-f]{64}$/;
const HEX_SIG = /^[0-9a-fA-F]{96}$/;
const TWO_64 = 1n << 64n;

function subtle() {
  const c = globalThis.crypto;
  if (!c || !c.subtle) throw new Error("WebCrypto (crypto.subtle) is not available here");
  return c.subtle;
}

function hexToBytes(hex) {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.substr(i * 2, 2), 16);
  return out;
}

function bytesToHex(buf) {
  return Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function sha256Hex(bytes) {
  return bytesToHex(await subtle().digest("SHA-256", bytes));
}

function isUint(v) {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

// Entrants with tickets > 0 sorted by user id; returns { text, rows: [[id, tickets], ...] }.
function buildSnapshot(entrants) {
  if (!Array.isArray(entrants)) throw new Error("entrants is not a list");
  const seen = new Set();
  const rows = [];
  for (const item of entrants) {
    if (!Array.isArray(item) || item.length !== 2) throw new Error(`entrant ${JSON.stringify(item)} is not a pair`);
    const [uid, tickets] = item;
    if (!isUint(uid) || !isUint(tickets)) {
      throw new Error(`entrant ${JSON.stringify(item)} does not hold non-negative integers`);
    }
    if (seen.has(uid)) throw new Error(`kick_user_id ${uid} is listed twice`);
    seen.add(uid);
    if (tickets > 0) rows.push([uid, tickets]);
  }
  rows.sort((a, b) => a[0] - b[0]);
  const text = rows.map(([uid, t]) => `${uid},${t}\n`).join("");
  return { text, rows };
}

async function pickTicket(hmacKey, snapshotHash, beacon, k, total) {
  const T = BigInt(total);
  const limit = (TWO_64 / T) * T;
  const enc = new TextEncoder();
  for (let c = 0; ; c++) {
    const mac = await subtle().sign("HMAC", hmacKey, enc.encode(`${snapshotHash}:${beacon}:${k}:${c}`));
    const x = new DataView(mac).getBigUint64(0, false);
    if (x < limit) return Number(x % T);
  }
}

async function recomputeWinners(seedHex, snapshotHash, beacon, rows, count) {
  const key = await subtle().importKey("raw", hexToBytes(seedHex), { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
  const remaining = rows.slice();
  const winners = [];
  for (let k = 0; k < count && remaining.length > 0; k++) {
    let total = 0;
    for (const r of remaining) total += r[1];
    const ticket = await pickTicket(key, snapshotHash, beacon, k, total);
    let start = 0;
    for (let i = 0; i < remaining.length; i++) {
      const [uid, tickets] = remaining[i];
      if (ticket < start + tickets) {
        winners.push({ k, ticket, total, kick_user_id: uid });
        remaining.splice(i, 1);
        break;
      }
      start += tickets;
    }
  }
  return winners;
}

export async function verifyProof(proof) {
  const checks = [];
  const add = (name, ok, detail) => checks.push({ name, ok, detail });
  const done = () => ({ ok: checks.every((c) => c.ok !== false), blsVerified: false, checks });

  if (!proof || typeof proof !== "object" || Array.isArray(proof)) {
    add("format", false, "the proof is not a JSON object");
    return done();
  }
  add("version", proof.version === 1, `version ${JSON.stringify(proof.version)} (this script checks 1)`);

  // 1. Server seed against its commitment.
  const seedHex = proof.server_seed;
  let seedOk = false;
  if (typeof seedHex !== "string" || !HEX64.test(seedHex)) {
    add("server_seed", false, "no revealed server_seed (64 lowercase hex) in the proof: not drawn yet?");
  } else {
    const got = await sha256Hex(hexToBytes(seedHex));
    seedOk = true;
    add("server_seed", got === proof.server_seed_hash, `sha256(server_seed) = ${got}, committed ${proof.server_seed_hash}`);
  }

  // 2. Snapshot.
  let rows = null;
  const published = proof.snapshot_hash;
  try {
    const snap = buildSnapshot(proof.entrants || []);
    rows = snap.rows;
    const got = await sha256Hex(new TextEncoder().encode(snap.text));
    const total = rows.reduce((s, r) => s + r[1], 0);
    add("snapshot_hash", got === published, `rebuilt from ${rows.length} entrants, ${total} tickets: ${got}, published ${published}`);
  } catch (e) {
    add("snapshot_hash", false, String(e.message || e));
  }

  // 3. Beacon (no BLS here).
  const drand = proof.drand || {};
  let beacon = null;
  if (typeof drand.signature !== "string" || !HEX_SIG.test(drand.signature)) {
    add("beacon_randomness", false, "drand signature is missing or not 96 hex characters");
    add("beacon_signature_bls", false, "no usable drand signature");
  } else {
    beacon = await sha256Hex(hexToBytes(drand.signature.toLowerCase()));
    add("beacon_randomness", beacon === drand.randomness, `sha256(signature) = ${beacon}, published randomness ${drand.randomness}`);
    add(
      "beacon_signature_bls",
      null,
      "SKIPPED: the browser verifier does not check the drand BLS signature; run verify_draw.py with drand-verify, or compare the round with https://api.drand.sh",
    );
  }

  // 4. Winners.
  const publishedWinners = Array.isArray(proof.winners) ? proof.winners : [];
  if (!seedOk || rows === null || beacon === null || typeof published !== "string") {
    add("winners", false, "cannot recompute winners without seed, snapshot and beacon");
  } else if (!HEX64.test(published)) {
    add("winners", false, "snapshot_hash is not 64 lowercase hex");
  } else {
    const mine = await recomputeWinners(seedHex, published, beacon, rows, publishedWinners.length);
    const theirs = publishedWinners
      .filter((w) => w && typeof w === "object")
      .map((w) => ({ k: w.k, ticket: w.ticket, total: w.total, kick_user_id: w.kick_user_id }));
    if (JSON.stringify(mine) === JSON.stringify(theirs)) {
      const detail = mine.map((w) => `k=${w.k}: ticket ${w.ticket} of ${w.total} -> ${w.kick_user_id}`).join("; ");
      add("winners", true, detail || "no winners published");
    } else {
      add("winners", false, `recomputed ${JSON.stringify(mine)}, published ${JSON.stringify(theirs)}`);
    }
  }
  return done();
}
