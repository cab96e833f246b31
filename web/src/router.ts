// SPDX-License-Identifier: AGPL-3.0-or-later
// Routes live after the "#", so the server only serves index.html and its
// assets, and a copied link works from any path weir is served under.
import { createRouter, createWebHashHistory } from "vue-router";
import HomePage from "./pages/HomePage.vue";

export const router = createRouter({
  history: createWebHashHistory(),
  routes: [
    { path: "/", name: "home", component: HomePage, meta: { title: "Home" } },
    { path: "/visualize", name: "visualize", component: () => import("./pages/VisualizePage.vue"), meta: { title: "Visualize" } },
    { path: "/docs/:page?", name: "docs", component: () => import("./pages/DocsPage.vue"), meta: { title: "Documentation" } },
    { path: "/:rest(.*)*", name: "not-found", component: () => import("./pages/NotFound.vue"), meta: { title: "Not found" } },
  ],
});

router.afterEach((to) => {
  document.title = `${(to.meta.title as string) ?? ""} · weir`;
});
