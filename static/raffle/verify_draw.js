// Verify a kickbot raffle draw in the browser (draw proof versions 1 and 2, docs/draw-proof.md).
//
//   import { verifyProof } from "/static/raffle/verify_draw.js";
//   const result = await verifyProof(await (await fetch("proof.json")).json());
//   // result = { ok, blsVerified: false, checks: [{ name, ok, detail }, ...] }
//
// Uses WebCrypto (crypto.subtle: SHA-256, HMAC-SHA256) and BigInt. It does NOT verify the
// drand BLS signature (no pairing code in the browser): the "beacon_signature_bls" check is
// reported with ok = null (skipped). Run verify_draw.py with drand-verify installed for that.
// Checks with ok = null do not count towards `ok`; every other check must pass.
// Before the draw, result.drawn is false: the checks that need the draw are not run (never FAIL).

const HEX64 = /^[0-9a-f]{64}$/;
const HEX_SIG = /^[0-9a-fA-F]{96}$/;
const TWO_64 = 1n << 64n;
const QUICKNET_GENESIS = 1692803367; // unix time of quicknet round 1; one round every 3 s
const QUICKNET_PERIOD = 3;

const emittedAt = (round) => QUICKNET_GENESIS + (round - 1) * QUICKNET_PERIOD;
const firstRoundAt = (ts) => (ts <= QUICKNET_GENESIS ? 1 : Math.ceil((ts - QUICKNET_GENESIS) / QUICKNET_PERIOD) + 1);
const isInt = (v) => typeof v === "number" && Number.isSafeInteger(v);

function parseTime(text) {
  if (typeof text !== "string") return null;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? null : ms / 1000;
}

function utc(ts) {
  return new Date(ts * 1000).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
}

// The book closed before anyone could know the round: frozen_at + margin <= emission.
function checkCloseBeforeRound(proof, add) {
  const drand = proof.drand || {};
  const rules = proof.rules || {};
  const committed = drand.committed_round !== undefined ? drand.committed_round : drand.round;
  const frozen = parseTime(proof.frozen_at);
  if (!isInt(committed) || committed < 1 || frozen === null) {
    add("closed_before_round", false, "the proof has no committed round or no frozen_at");
    return;
  }
  const margin = proof.version === 2 ? rules.commit_margin_s : 0;
  if (!isInt(margin) || margin < 0) {
    add("closed_before_round", false, `commit_margin_s ${JSON.stringify(margin)} is not a number of seconds`);
    return;
  }
  const at = emittedAt(committed);
  const ok = frozen < at && at - frozen >= margin;
  add(
    "closed_before_round",
    ok,
    `book closed ${utc(frozen)}, round ${committed} emitted ${utc(at)}: ${Math.round(at - frozen)} s later ` +
      `(at least ${margin} s required)` +
      (ok ? "" : ": the randomness could be known before the close"),
  );
}

// A fallback round follows the published rule from the logged failures.
function checkFallback(proof, add) {
  const drand = proof.drand || {};
  const rules = proof.rules || {};
  const fallback = proof.fallback || {};
  const committed = drand.committed_round !== undefined ? drand.committed_round : drand.round;
  const used = drand.round;
  if (used === committed && !fallback.used) {
    add("fallback", true, `not used: the draw used the committed round ${committed}`);
    return;
  }
  if (proof.version === 1) {
    add("fallback", null, `version 1 proof: round ${used} replaced ${committed} by an admin's choice`);
    return;
  }
  const attempts = (Array.isArray(proof.draw_attempts) ? proof.draw_attempts : []).filter(
    (a) => a && typeof a === "object" && a.round === committed,
  );
  const after = rules.fallback_after_s;
  const margin = rules.commit_margin_s;
  const switched = parseTime(fallback.switched_at);
  const times = attempts.map((a) => parseTime(a.at));
  const problems = [];
  if (!attempts.length || times.includes(null) || !isInt(after) || !isInt(margin) || switched === null) {
    problems.push("no failure log, rule parameters or switch time");
  } else {
    const first = times[0];
    if (first < emittedAt(committed)) problems.push(`a logged failure (${utc(first)}) is before round ${committed} was emitted`);
    if (!times.includes(switched)) problems.push("the switch is not one of the logged failures");
    else if (switched - first < after) problems.push(`failures spanned ${Math.round(switched - first)} s, the rule needs ${after} s`);
    if (used !== fallback.round || used !== firstRoundAt(switched + margin)) {
      problems.push(`round ${used} is not the first one ${margin} s after the switch`);
    }
  }
  const answers = attempts
    .slice(-3)
    .map((a) => String(a.answers || "").slice(0, 120))
    .join("; ");
  add(
    "fallback",
    problems.length === 0,
    problems.length === 0
      ? `round ${committed} failed ${attempts.length} times; fallback round ${used} follows the rule. ` +
          `drand never skips rounds: look up round ${committed} yourself. Last relay answers: ${answers}`
      : problems.join("; "),
  );
}

function checkRerolls(proof, winners, add) {
  const rules = proof.rules || {};
  const voids = winners.filter((w) => w && typeof w === "object" && w.void_reason);
  if (proof.version === 1) {
    add("rerolls", null, `${voids.length} reroll(s); version 1 proofs have no reroll rules`);
    return;
  }
  const cap = rules.max_rerolls;
  const reasons = Array.isArray(rules.reroll_reasons) ? rules.reroll_reasons : [];
  const bad = voids.map((w) => w.void_reason).filter((r) => !reasons.includes(r));
  const ok = isInt(cap) && voids.length <= cap && bad.length === 0;
  let detail = `${voids.length} reroll(s) of at most ${cap}` + voids.map((w) => `; k=${w.k} void: ${w.void_reason}`).join("");
  if (bad.length) detail += `; reasons not in the committed list ${JSON.stringify(reasons)}: ${JSON.stringify(bad)}`;
  add("rerolls", ok, detail);
}

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

// Rebuild the snapshot from the published entrants and compare its hash; the rows, or null.
async function checkSnapshot(proof, add) {
  const published = proof.snapshot_hash;
  try {
    const snap = buildSnapshot(proof.entrants || []);
    const got = await sha256Hex(new TextEncoder().encode(snap.text));
    const total = snap.rows.reduce((s, r) => s + r[1], 0);
    add("snapshot_hash", got === published, `rebuilt from ${snap.rows.length} entrants, ${total} tickets: ${got}, published ${published}`);
    return snap.rows;
  } catch (e) {
    add("snapshot_hash", false, String(e.message || e));
    return null;
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
  let drawn = true;
  const done = () => ({ ok: checks.every((c) => c.ok !== false), drawn, blsVerified: false, checks });

  if (!proof || typeof proof !== "object" || Array.isArray(proof)) {
    add("format", false, "the proof is not a JSON object");
    return done();
  }
  add("version", proof.version === 1 || proof.version === 2, `version ${JSON.stringify(proof.version)} (this script checks 1 and 2)`);
  const status = (proof.period || {}).status;
  if (status === "open" || status === "frozen") {
    drawn = false;
    add("drawn", null, `NOT DRAWN YET (the raffle is ${status}): the seed and the winners come with the draw`);
    if (status === "frozen") {
      checkCloseBeforeRound(proof, add);
      await checkSnapshot(proof, add);
    }
    return done();
  }

  // 1. Server seed against its commitment.
  const seedHex = proof.server_seed;
  let seedOk = false;
  if (typeof seedHex !== "string" || !HEX64.test(seedHex)) {
    add("server_seed", false, "no revealed server_seed (64 lowercase hex) in the proof");
  } else {
    const got = await sha256Hex(hexToBytes(seedHex));
    seedOk = true;
    add("server_seed", got === proof.server_seed_hash, `sha256(server_seed) = ${got}, committed ${proof.server_seed_hash}`);
  }

  // 2. Snapshot.
  const published = proof.snapshot_hash;
  const rows = await checkSnapshot(proof, add);

  // 3. The close came before the round.
  checkCloseBeforeRound(proof, add);

  // 4. Beacon (no BLS here).
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

  // 5. Fallback, 6. rerolls.
  checkFallback(proof, add);
  const publishedWinners = Array.isArray(proof.winners) ? proof.winners : [];
  checkRerolls(proof, publishedWinners, add);

  // 7. Winners.
  if (!seedOk || rows === null || beacon === null || typeof published !== "string") {
    add("winners", false, "cannot recompute winners without seed, snapshot and beacon");
  } else if (!HEX64.test(published)) {
    add("winners", false, "snapshot_hash is not 64 lowercase hex");
  } else {
    const mine = await recomputeWinners(seedHex, published, beacon, rows, publishedWinners.length);
    const theirs = publishedWinners
      .filter((w) => w && typeof w === "object")
      .map((w) => ({ k: w.k, ticket: w.ticket, total: w.total, kick_user_id: w.kick_user_id }));
    const expected = (proof.rules || {}).winners;
    const valid = publishedWinners.filter((w) => w && typeof w === "object" && !w.void_reason).length;
    if (JSON.stringify(mine) !== JSON.stringify(theirs)) {
      add("winners", false, `recomputed ${JSON.stringify(mine)}, published ${JSON.stringify(theirs)}`);
    } else if (isInt(expected) && valid > expected) {
      add("winners", false, `${valid} winners stand, the rules say ${expected}`);
    } else {
      const detail = mine.map((w) => `k=${w.k}: ticket ${w.ticket} of ${w.total} -> ${w.kick_user_id}`).join("; ");
      add("winners", true, detail || "no winners published");
    }
  }
  return done();
}
