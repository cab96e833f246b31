// SPDX-License-Identifier: AGPL-3.0-or-later
// Time range phrases: "now", "6 hours ago", "last 6 hours", "today",
// "yesterday", "2024-05-01 10:00", RFC 3339. parseRange() resolves a pair of
// them to dates; the strings themselves are what the URL keeps.

export interface Range { start: Date; end: Date }

const unitSeconds: Record<string, number> = {
  s: 1, sec: 1, second: 1, m: 60, min: 60, minute: 60, h: 3600, hour: 3600,
  d: 86400, day: 86400, w: 604800, week: 604800, month: 2592000, mo: 2592000,
  y: 31536000, year: 31536000,
};

function unitOf(word: string): number | undefined {
  const w = word.toLowerCase().replace(/s$/, "");
  return unitSeconds[w] ?? unitSeconds[word.toLowerCase()];
}

function startOfDay(d: Date): Date {
  const r = new Date(d);
  r.setHours(0, 0, 0, 0);
  return r;
}

/** One point in time; undefined when the phrase is not understood. */
export function parsePoint(text: string, now = new Date()): Date | undefined {
  const t = text.trim().toLowerCase();
  if (t === "" ) return undefined;
  if (t === "now") return new Date(now);
  if (t === "today") return startOfDay(now);
  if (t === "yesterday") return new Date(startOfDay(now).getTime() - 86400e3);
  let m = /^(\d+(?:\.\d+)?|an?|one)\s*([a-z]+)\s+ago$/.exec(t);
  if (m) {
    const n = m[1] === "a" || m[1] === "an" || m[1] === "one" ? 1 : Number(m[1]);
    const u = unitOf(m[2]);
    if (u) return new Date(now.getTime() - n * u * 1000);
  }
  m = /^-\s*(\d+(?:\.\d+)?)\s*([a-z]+)$/.exec(t);
  if (m) {
    const u = unitOf(m[2]);
    if (u) return new Date(now.getTime() - Number(m[1]) * u * 1000);
  }
  // Absolute: "2024-05-01", "2024-05-01 10:00[:00]", RFC 3339.
  m = /^(\d{4})-(\d{2})-(\d{2})(?:[ t](\d{2}):(\d{2})(?::(\d{2}))?)?$/.exec(t);
  if (m) {
    return new Date(+m[1], +m[2] - 1, +m[3], +(m[4] ?? 0), +(m[5] ?? 0), +(m[6] ?? 0));
  }
  const d = new Date(text);
  return isNaN(d.getTime()) ? undefined : d;
}

/** "last 6 hours", "past day", "last week": a range ending now. */
export function parseLast(text: string, now = new Date()): Range | undefined {
  const m = /^(?:last|past)\s+(?:(\d+(?:\.\d+)?)\s*)?([a-z]+)$/.exec(text.trim().toLowerCase());
  if (!m) return undefined;
  const u = unitOf(m[2]);
  if (!u) return undefined;
  const n = m[1] ? Number(m[1]) : 1;
  return { start: new Date(now.getTime() - n * u * 1000), end: new Date(now) };
}

export function parseRange(start: string, end: string, now = new Date()): Range | string {
  const last = parseLast(start, now);
  if (last) return last;
  const s = parsePoint(start, now);
  if (!s) return `Cannot understand the start "${start}"`;
  const e = parsePoint(end, now);
  if (!e) return `Cannot understand the end "${end}"`;
  if (s >= e) return "The start must be before the end";
  return { start: s, end: e };
}

/** The range ends now (so it moves, and auto-refresh makes sense). */
export function endsNow(start: string, end: string): boolean {
  return !!parseLast(start) || end.trim().toLowerCase() === "now";
}

export const presets: { label: string; start: string; end: string }[] = [
  { label: "Last 15 minutes", start: "15 minutes ago", end: "now" },
  { label: "Last hour", start: "1 hour ago", end: "now" },
  { label: "Last 6 hours", start: "6 hours ago", end: "now" },
  { label: "Last 24 hours", start: "24 hours ago", end: "now" },
  { label: "Last 7 days", start: "7 days ago", end: "now" },
  { label: "Last 30 days", start: "30 days ago", end: "now" },
  { label: "Today", start: "today", end: "now" },
  { label: "Yesterday", start: "yesterday", end: "today" },
];

const pad = (n: number) => String(n).padStart(2, "0");

/** Local "YYYY-MM-DD HH:MM" (what parsePoint reads back). */
export function formatAbsolute(d: Date): string {
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** "May 3 01:15 → 07:15", the day left out of the end when it is the same. */
export function formatSpan(start: Date, end: Date): string {
  const day = (d: Date) => d.toLocaleDateString("en-US", { month: "short", day: "numeric" });
  const hm = (d: Date) => `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  return day(start) === day(end) ? `${day(start)} ${hm(start)} → ${hm(end)}` : `${day(start)} ${hm(start)} → ${day(end)} ${hm(end)}`;
}

export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  if (s < 172800) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86400)} d`;
}
