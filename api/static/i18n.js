// The page's words: one dictionary per language (i18n/fr.json, i18n/en.json), French first.
//
// t("validity.expired"), t("batch_progress", { done: 1, total: 3, name }) and, for entries
// written {"one": ..., "other": ...}, t("file_codes", { n: 2 }). A missing entry shows its key,
// so that a gap is visible rather than silent.

export const LANGUAGES = ["fr", "en"];
const STORAGE_KEY = "scanner-agent.lang"; // a preference, not a secret: localStorage is fine

const dictionaries = {};
let current = "fr";

export async function loadDictionaries() {
  await Promise.all(
    LANGUAGES.map(async (lang) => {
      const response = await fetch(`/static/i18n/${lang}.json`, { cache: "no-cache" });
      if (!response.ok) throw new Error(`dictionary ${lang}: HTTP ${response.status}`);
      dictionaries[lang] = await response.json();
    }),
  );
  const saved = safeStorage()?.getItem(STORAGE_KEY);
  current = LANGUAGES.includes(saved) ? saved : "fr";
}

function safeStorage() {
  try {
    return window.localStorage;
  } catch {
    return null; // storage disabled by policy: the page still works, in French
  }
}

export function language() {
  return current;
}

export function otherLanguage() {
  return LANGUAGES.find((lang) => lang !== current);
}

export function setLanguage(lang) {
  if (!LANGUAGES.includes(lang)) return;
  current = lang;
  safeStorage()?.setItem(STORAGE_KEY, lang);
}

export function locale() {
  return dictionaries[current]?.locale ?? "fr-FR";
}

function lookup(lang, key) {
  let value = dictionaries[lang];
  for (const part of key.split(".")) {
    if (value === undefined || value === null) return undefined;
    value = value[part];
  }
  return value;
}

/** Whether `key` has an entry (e.g. a warning code the page has a sentence for). */
export function has(key) {
  return typeof lookup(current, key) === "string" || typeof lookup(current, key) === "object";
}

export function t(key, params = {}, lang = current) {
  let value = lookup(lang, key);
  if (value && typeof value === "object" && "other" in value) {
    const rule = new Intl.PluralRules(dictionaries[lang]?.locale ?? lang).select(params.n ?? 0);
    value = value[rule] ?? value.other;
  }
  if (typeof value !== "string") return key;
  return value.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

/** Translate the static text of the page: every element with `data-i18n="key"`. */
export function translateDocument(root = document) {
  document.documentElement.lang = current;
  document.title = t("title");
  for (const element of root.querySelectorAll("[data-i18n]")) {
    element.textContent = t(element.dataset.i18n);
  }
}
