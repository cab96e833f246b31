// SPDX-License-Identifier: AGPL-3.0-or-later
// Series colours: distinct hues readable on light and dark backgrounds; the
// "Other" series is always grey so it reads as a remainder.
const colors = [
  "#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1",
  "#ff9da7", "#9c755f", "#5778a4", "#8cd17d", "#d37295", "#a0cbe8", "#ffbe7d",
  "#86bcb6", "#f1ce63", "#d4a6c8", "#499894", "#79706e", "#b6992d",
];
export const otherColor = "#9aa3ad";

export function isOther(row: string[]): boolean {
  return row.length > 0 && row.every((c) => c === "Other");
}

export function colorFor(index: number, row: string[]): string {
  return isOther(row) ? otherColor : colors[index % colors.length];
}
