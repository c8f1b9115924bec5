// Every page is prerendered to static HTML (adapter-static writes build/).
export const prerender = true;
