// SPDX-License-Identifier: AGPL-3.0-or-later
// weir's console: Vue application entry.
import { createApp } from "vue";
import App from "./App.vue";
import { router } from "./router";
import "./style.css";

createApp(App).use(router).mount("#app");
