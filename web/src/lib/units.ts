// SPDX-License-Identifier: AGPL-3.0-or-later
// Formatting of rates, counters and percentages for axes, tooltips and tables.
import type { Units } from "./api";

export const unitChoices: { value: Units; label: string; title: string }[] = [
  { value: "l3bps", label: "L3 b/s", title: "bits per second, IP headers and payload" },
  { value: "l2bps", label: "L2 b/s", title: "bits per second, with Ethernet framing" },
  { value: "pps", label: "pps", title: "packets per second" },
  { value: "fps", label: "fps", title: "flows per second" },
  { value: "inl2%", label: "in %", title: "percentage of the input interface's speed" },
  { value: "outl2%", label: "out %", title: "percentage of the output interface's speed" },
];

/** SI prefix formatting: 1234567 -> "1.23 M". */
export function si(value: number, digits = 3): string {
  const abs = Math.abs(value);
  const prefixes = ["", "k", "M", "G", "T", "P", "E"];
  let i = 0;
  let v = abs;
  while (v >= 1000 && i < prefixes.length - 1) {
    v /= 1000;
    i++;
  }
  const sign = value < 0 ? "-" : "";
  if (v === 0) return "0 ";
  const text = v >= 100 || i === 0 && Number.isInteger(v) ? v.toFixed(0) : v.toPrecision(digits);
  return `${sign}${text} ${prefixes[i]}`;
}

export function unitSuffix(units: Units): string {
  switch (units) {
    case "l3bps":
    case "l2bps":
      return "bps";
    case "pps":
      return "pps";
    case "fps":
      return "fps";
    default:
      return "%";
  }
}

export function formatRate(value: number, units: Units): string {
  if (units === "inl2%" || units === "outl2%") return `${Math.abs(value).toFixed(value !== 0 && Math.abs(value) < 10 ? 1 : 0)} %`;
  return si(Math.abs(value)) + unitSuffix(units);
}

/** Totals are counters: bytes for b/s, packets for pps, flows for fps. */
export function formatTotal(value: number | undefined, units: Units): string {
  if (value === undefined) return "";
  switch (units) {
    case "l3bps":
    case "l2bps":
      return si(value) + "B";
    case "pps":
      return si(value) + "pkts";
    case "fps":
      return si(value) + "flows";
    default:
      return "";
  }
}

export function formatCount(value: number): string {
  return value.toLocaleString("en-US", { maximumFractionDigits: 1 });
}
