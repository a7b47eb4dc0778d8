// Differential tests of Roster's SCIM filters and PATCH (web/scimfilter.go,
// web/scimpatch.go) against the npm packages scim2-parse-filter and
// scim-patch. web's TestSCIMDifferential writes the corpus — generated
// filters and patches with Roster's results — and runs this file with
// SCIM_DIFF_CORPUS naming it: node --test scim-diff.test.mjs
//
// Where Roster differs from a package on purpose, the difference is listed
// below as a named deviation, each with its reason; a mismatch no
// deviation explains fails the test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { parse, Tester } = require('scim2-parse-filter');
const { scimPatch } = require('scim-patch');

const corpus = JSON.parse(readFileSync(process.env.SCIM_DIFF_CORPUS, 'utf8'));

// ---- Filters ---------------------------------------------------------

// Filters one parser accepts and the other refuses, with the reason.
const PARSE_DEVIATIONS = {
  // RFC 7644 §3.4.2.2's grammar: "not" "(" valFilter ")". The package
  // also takes not without parentheses.
  'not userName eq "a"': 'not needs parentheses',
};

// RosterTester is scim2-parse-filter's evaluator with Roster's deviations,
// each an override of a part of it, named and with its reason:
//
// F1 core schema prefix: "urn:ietf:params:scim:schemas:core:2.0:User:userName"
//    is userName (RFC 7644 §3.10); the package looks for a key named by the URN.
// F2 case: string values compare case-insensitively, except of id and
//    externalId (RFC 7643 §2.2 caseExact false, §3.1); the package compares
//    case-exactly.
// F3 presence: pr matches a non-empty value or a non-empty complex node
//    (RFC 7644 §3.4.2.2); the package matches any defined value, even null,
//    "" and [].
// F4 implicit value: a comparison with a multi-valued complex attribute
//    without a sub-attribute ("emails co x") compares its elements' value
//    sub-attribute (as RFC 7644 §3.5.2 says of paths); the package compares
//    the elements themselves.
// F5 types: gt, ge, lt and le compare two strings or two numbers, co, sw
//    and ew two strings, and eq null matches nothing; the package lets
//    JavaScript coerce (true ge false, "true" sw "t").
// F6 null: an attribute whose value is null is unassigned (RFC 7643 §2.5),
//    so no comparison matches it, ne neither; the package has null ne "x".
// F7 value filters: emails[type eq "work" and value co "@"] needs one
//    element to match the whole value filter (RFC 7644 §3.4.2.2); the
//    package tests the filter's parts on the list, each on any element.
const CORE = /^urn:ietf:params:scim:schemas:core:2\.0:(User|Group):/i;
const CASE_EXACT = new Set(['id', 'externalid']);
const F = { F1: 0, F2: 0, F3: 0, F4: 0, F5: 0 };
class RosterTester extends Tester {
  test(r, f) {
    if (f.attrPath !== undefined && CORE.test(f.attrPath)) { // F1
      f = { ...f, attrPath: f.attrPath.replace(CORE, '') };
    }
    if (f.op === '[]') { // F7
      return this.attrTest(this.attrPath(f.attrPath), r,
        s => (Array.isArray(s) ? s : [s]).some(el => this.test(el, f.valFilter)));
    }
    if (f.attrPath !== undefined) {
      this.exact = CASE_EXACT.has(f.attrPath.split(':').pop().toLowerCase());
    }
    return super.test(r, f);
  }
  pr(r) { // F3
    if (r === null || r === '' || (Array.isArray(r) && r.length === 0)) return false;
    if (typeof r === 'object' && !Array.isArray(r) && Object.keys(r).length === 0) return false;
    return r !== undefined;
  }
  // operand applies F4 and F2 to a compared value.
  operand(r) {
    if (r !== null && typeof r === 'object' && !Array.isArray(r)) r = r.value; // F4
    if (typeof r === 'string' && !this.exact) r = r.toLowerCase(); // F2
    return r;
  }
  // each applies a comparison to every element of a list (F4) and to no
  // null (F6).
  each(r, v, cmp) {
    if (Array.isArray(r)) return r.some(x => this.each(x, v, cmp));
    return r !== null && cmp(r, v);
  }
  key(v) { return typeof v === 'string' && !this.exact ? v.toLowerCase() : v; }
  eq(r, v) { return this.each(r, v, (r, v) => { return v !== null && super.eq(this.operand(r), this.key(v)); }); } // F5: eq null
  ne(r, v) { return this.each(r, v, (r, v) => { return super.ne(this.operand(r), this.key(v)); }); }
  ordered(r, v) { r = this.operand(r); return [r, this.key(v), (typeof r === 'string' || typeof r === 'number') && typeof r === typeof v]; }
  gt(r, v) { return this.each(r, v, (r, v) => { const [a, b, ok] = this.ordered(r, v); return ok && super.gt(a, b); }); } // F5
  ge(r, v) { return this.each(r, v, (r, v) => { const [a, b, ok] = this.ordered(r, v); return ok && super.ge(a, b); }); }
  lt(r, v) { return this.each(r, v, (r, v) => { const [a, b, ok] = this.ordered(r, v); return ok && super.lt(a, b); }); }
  le(r, v) { return this.each(r, v, (r, v) => { const [a, b, ok] = this.ordered(r, v); return ok && super.le(a, b); }); }
  strings(r, v) { r = this.operand(r); return [r, this.key(v), typeof r === 'string' && typeof v === 'string']; }
  co(r, v) { return this.each(r, v, (r, v) => { const [a, b, ok] = this.strings(r, v); return ok && super.co(a, b); }); } // F5
  sw(r, v) { return this.each(r, v, (r, v) => { const [a, b, ok] = this.strings(r, v); return ok && super.sw(a, b); }); }
  ew(r, v) { return this.each(r, v, (r, v) => { const [a, b, ok] = this.strings(r, v); return ok && super.ew(a, b); }); }
}

function evaluate(TesterClass, ast, resource) {
  return new TesterClass().test(resource, ast);
}

test('filters parse alike', () => {
  const bad = [];
  for (const c of corpus.filters) {
    let theirs = true;
    try { parse(c.filter); } catch { theirs = false; }
    if (theirs !== c.parses && !(c.filter in PARSE_DEVIATIONS)) {
      bad.push(`${c.filter}: Roster ${c.parses ? 'parses' : 'refuses'}, scim2-parse-filter ${theirs ? 'parses' : 'refuses'}`);
    }
  }
  assert.deepEqual(bad, []);
});

test('filters match alike', () => {
  const bad = [];
  let compared = 0, deviated = 0;
  for (const c of corpus.filters) {
    if (!c.parses) continue;
    let ast;
    try { ast = parse(c.filter); } catch { continue; }
    corpus.resources.forEach((res, i) => {
      compared++;
      const stock = evaluate(Tester, ast, res);
      const roster = evaluate(RosterTester, ast, res);
      if (stock !== roster) deviated++;
      if (roster !== c.matches[i]) {
        bad.push(`${c.filter} on resource ${res.id}: Roster ${c.matches[i]}, package ${stock} (with deviations ${roster})`);
      }
    });
  }
  console.log(`filters: ${compared} comparisons, ${deviated} changed by the listed deviations`);
  assert.ok(compared > 1000, 'the corpus has too few filters that parse');
  assert.deepEqual(bad.slice(0, 40), []);
});

// ---- PATCH -----------------------------------------------------------

// PATCH_DEVIATIONS: where Roster's result differs from scim-patch's
// (with treatMissingAsAdd false, RFC 7644's noTarget for replace), each
// names the cases it explains.
const MULTI = new Set(['emails', 'phonenumbers', 'ims', 'photos', 'addresses', 'groups', 'entitlements', 'roles', 'x509certificates', 'members']);
const PATCH_DEVIATIONS = [
  {
    // P1: removing through a value filter that matches nothing (or an
    // absent attribute), or adding to an element no filter matches without
    // a sub-attribute to make one with, changes nothing in Roster, so an
    // identity provider's retry succeeds; the package fails.
    name: 'P1 filter on nothing',
    applies: (c, err) => c.ok && err !== undefined &&
      /mono valued attribute|matching array entry was not found/.test(String(err)) &&
      c.operations.some(o => (o.path ?? '').includes('[')),
  },
  {
    // P2: one value for a multi-valued attribute (add or replace with an
    // object) is a list of that one value (RFC 7643 §2.4); the package
    // stores the bare object, or merges it into every element.
    name: 'P2 one value of a multi-valued attribute',
    applies: (c) => c.operations.some(o => o.op !== 'remove' && MULTI.has((o.path ?? '').toLowerCase()) &&
      o.value !== null && typeof o.value === 'object' && !Array.isArray(o.value)),
  },
];

const P = {};
test('patches apply alike', () => {
  const bad = [];
  let compared = 0, deviated = 0;
  for (const c of corpus.patches) {
    compared++;
    let theirs, err;
    try {
      theirs = scimPatch(structuredClone(c.resource), structuredClone(c.operations), { mutateDocument: false, treatMissingAsAdd: false });
    } catch (e) { err = e; }
    const same = c.ok ? (err === undefined && isDeepStrictEqual(theirs, c.result)) : err !== undefined;
    if (same) continue;
    const dev = PATCH_DEVIATIONS.find(d => d.applies(c, err));
    if (dev) { deviated++; P[dev.name] = (P[dev.name] ?? 0) + 1; continue; }
    bad.push(JSON.stringify({ ops: c.operations, resource: c.resource.id, roster: c.ok ? c.result : 'error', package: err ? String(err) : theirs }));
  }
  console.log(`patches: ${compared} compared, ${deviated} differ as listed: ${JSON.stringify(P)}`);
  assert.ok(corpus.patches.filter(c => c.ok).length > 100 && corpus.patches.some(c => !c.ok), 'the corpus lacks patches that apply or fail');
  assert.deepEqual(bad.slice(0, 30), []);
});
