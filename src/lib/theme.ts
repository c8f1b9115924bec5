// Light and dark themes. With no saved choice the system's prefers-color-scheme decides (in CSS);
// a saved choice sets <html data-theme="light|dark">, which src/app.html applies before first paint.

export type Theme = 'light' | 'dark';

const STORAGE_KEY = 'nanoseek.theme';

/** The theme in effect now (saved choice, else the system preference). Browser only. */
export function currentTheme(): Theme {
  const set = document.documentElement.dataset.theme;
  if (set === 'light' || set === 'dark') return set;
  return matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}

/** Apply and remember a theme. Browser only. */
export function setTheme(theme: Theme): void {
  document.documentElement.dataset.theme = theme;
  try {
    localStorage.setItem(STORAGE_KEY, theme);
  } catch {
    // storage blocked: the choice lasts for this page only
  }
}
