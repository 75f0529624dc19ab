"""The session widget's JavaScript (an anywidget ES module): it draws `Board.view()` and sends
each change back as a message; the state machine stays in Python (`_widget.Board`)."""

ESM = r"""
const css = `
.sdx {font-family: system-ui, sans-serif; font-size: 13px; display: grid;
  grid-template-columns: minmax(320px, 1fr) minmax(320px, 1fr); gap: 16px; color: #222}
.sdx h3 {font-size: 14px; margin: 8px 0 4px}
.sdx .q {display: grid; grid-template-columns: 1fr 120px; gap: 6px; align-items: center;
  padding: 2px 4px; border-radius: 3px}
.sdx .q.next {background: #fff3c4}
.sdx select {width: 120px}
.sdx .bar {display: grid; grid-template-columns: 190px 1fr 48px; gap: 6px; align-items: center}
.sdx .track {background: #eee; height: 12px}
.sdx .fill {background: #4c72b0; height: 12px}
.sdx .box {border: 1px solid #ccc; border-radius: 4px; padding: 6px 8px; margin: 4px 0}
.sdx .err {color: #c44e52}
.sdx .w {display: grid; grid-template-columns: 190px 70px 1fr; gap: 6px; align-items: center}
.sdx .pos {background: #4c9a2a; height: 10px} .sdx .neg {background: #c44e52; height: 10px}
.sdx .scroll {max-height: 520px; overflow-y: auto}
`;

function esc(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;",
    '"': "&quot;", "'": "&#39;"}[c]));
}

function questions(view) {
  const next = view.question ? view.question.id : "";
  return view.questions.map((q) => {
    const options = ['<option value="">unknown</option>'].concat(q.states.map((s) =>
      `<option value="${esc(s)}"${s === q.answer ? " selected" : ""}>${esc(s)}</option>`));
    return `<div class="q${q.id === next ? " next" : ""}" title="${esc(q.id)}">
      <label>${esc(q.text)}</label>
      <select data-question="${esc(q.id)}">${options.join("")}</select></div>`;
  }).join("");
}

function actions(view) {
  return view.actions.map((a) => `<div title="${esc(a.id)}"><label>
    <input type="checkbox" data-action="${esc(a.id)}"${a.failed ? " checked" : ""}>
    ${esc(a.text)}</label></div>`).join("");
}

function bars(view) {
  return view.posterior.map((b) => `<div class="bar" title="${esc(b.id)}">
    <span>${esc(b.text)}</span>
    <div class="track"><div class="fill" style="width:${(100 * b.p).toFixed(1)}%"></div></div>
    <span>${esc(b.label)}</span></div>`).join("");
}

function nextSteps(view) {
  const q = view.question ? `<div class="box"><b>Next best question</b>
    (${esc(view.question.gain)}): ${esc(view.question.text)}</div>` : "";
  const s = view.step ? `<div class="box"><b>Next troubleshooting step</b> (${esc(view.step.kind)},
    ${esc(view.step.cost)}; ${esc(view.step.expected)}): ${esc(view.step.text)}</div>`
    : `<div class="box"><b>Next troubleshooting step</b>: planning...</div>`;
  return q + s;
}

function explanation(view) {
  const e = view.explanation;
  const top = Math.max(1e-9, ...e.rows.map((r) => Math.abs(r.bits)).filter(isFinite));
  const rows = e.rows.map((r) => {
    const width = isFinite(r.bits) ? Math.min(100, 100 * Math.abs(r.bits) / top) : 100;
    const sign = (r.bits >= 0 ? "+" : "") + (isFinite(r.bits) ? r.bits.toFixed(2) : "inf");
    return `<div class="w"><span>${esc(r.finding)} = ${esc(r.answer)}</span>
      <span>${sign} bits</span>
      <div class="${r.bits >= 0 ? "pos" : "neg"}" style="width:${width}%"></div></div>`;
  }).join("");
  return `<h3>Why the top cause: ${esc(e.text)}</h3><div>${esc(e.headline)}</div>${rows ||
    "<div>No answers yet: the prior.</div>"}`;
}

function draw(model, el) {
  const view = model.get("view");
  el.innerHTML = `<style>${css}</style><div class="sdx">
    <div><h3>Questions</h3><div class="scroll">${questions(view)}</div>
      <h3>Repairs tried, not fixed</h3><div class="scroll">${actions(view)}</div></div>
    <div><h3>${esc(view.title)}</h3>
      <button data-kind="undo"${view.history ? "" : " disabled"}>Undo</button>
      <button data-kind="reset">Reset</button>
      <span class="err">${esc(view.error)}</span>
      <h3>Most probable causes</h3>${bars(view)}${nextSteps(view)}${explanation(view)}</div>
  </div>`;
  el.querySelectorAll("select[data-question]").forEach((s) => s.addEventListener("change",
    () => model.send({kind: "answer", id: s.dataset.question, value: s.value || null})));
  el.querySelectorAll("input[data-action]").forEach((c) => c.addEventListener("change",
    () => model.send({kind: "failed", id: c.dataset.action, value: c.checked})));
  el.querySelectorAll("button[data-kind]").forEach((b) => b.addEventListener("click",
    () => model.send({kind: b.dataset.kind})));
}

function render({model, el}) {
  draw(model, el);
  const redraw = () => draw(model, el);
  model.on("change:view", redraw);
  return () => model.off("change:view", redraw);
}

export default {render};
"""
