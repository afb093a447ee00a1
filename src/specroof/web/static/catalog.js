// specroof explorer: the choices the registries own, from /api/catalog. The drafting methods
// (speculation/methods) fill the method select, the export engines (speculation/engines) the
// export tabs, so the page itself spells no method or engine: a registered one shows up here.
"use strict";

function methodOption(method) {
  const text = method.label && method.label !== method.name ? `${method.name} (${method.label})` : method.name;
  const option = new Option(text, method.name);
  option.title = method.description || "";
  return option;
}

function engineTab(engine, active) {
  const tab = document.createElement("button");
  tab.type = "button";
  tab.dataset.engine = engine.name;
  tab.textContent = engine.display_name;
  tab.title = engine.description || "";
  tab.classList.toggle("active", active);
  return tab;
}

// Fetch the catalog once, fill the method select and the export tabs (before the Copy button),
// and hand the catalog to the caller for the other selects.
async function loadCatalog() {
  const catalog = await (await fetch("/api/catalog")).json();
  const methods = document.querySelector("#settings select[name=method]");
  for (const m of catalog.methods) methods.add(methodOption(m));
  const copy = document.getElementById("copy");
  catalog.engines.forEach((e, i) => copy.parentElement.insertBefore(engineTab(e, i === 0), copy));
  return catalog;
}
