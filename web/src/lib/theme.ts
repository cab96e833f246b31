// SPDX-License-Identifier: AGPL-3.0-or-later
// Dark mode: follows the system until the user picks one (kept in
// localStorage); the class "dark" on <html> switches the CSS variables.
import { ref, watch } from "vue";

export type ThemeChoice = "system" | "light" | "dark";
const key = "weir-theme";
const media = window.matchMedia("(prefers-color-scheme: dark)");

const stored = localStorage.getItem(key);
export const themeChoice = ref<ThemeChoice>(stored === "light" || stored === "dark" ? stored : "system");
export const dark = ref(false);

function apply() {
  dark.value = themeChoice.value === "system" ? media.matches : themeChoice.value === "dark";
  document.documentElement.classList.toggle("dark", dark.value);
}
media.addEventListener("change", apply);
watch(themeChoice, (c) => {
  if (c === "system") localStorage.removeItem(key);
  else localStorage.setItem(key, c);
  apply();
});
apply();

/** Light -> dark -> system -> light... */
export function cycleTheme() {
  themeChoice.value = themeChoice.value === "light" ? "dark" : themeChoice.value === "dark" ? "system" : "light";
}
