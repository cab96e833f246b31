// SPDX-License-Identifier: AGPL-3.0-or-later
// The server's configuration (dimensions, defaults, home widgets), fetched
// once and shared by every page.
import { ref } from "vue";
import { api, type Configuration } from "./api";

export const serverConfig = ref<Configuration | null>(null);
export const serverConfigError = ref("");
let loading: Promise<Configuration | null> | undefined;

export function loadConfig(): Promise<Configuration | null> {
  loading ??= api.configuration().then(
    (c) => (serverConfig.value = c),
    (e: Error) => {
      serverConfigError.value = e.message;
      loading = undefined;
      return null;
    },
  );
  return loading;
}
