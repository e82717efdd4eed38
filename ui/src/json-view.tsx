import { useState } from 'preact/hooks';

/** Objects and arrays deeper than this start folded. */
const OPEN_DEPTH = 2;
/** A value with more entries than this starts folded, whatever its depth. */
const OPEN_ENTRIES = 50;

/**
 * JSON as a tree: objects and arrays fold and unfold (click the ▸), long ones start folded, and
 * **Copy** puts the whole value on the clipboard as indented JSON.
 */
export function JsonView({ value, label }: { value: unknown; label: string }) {
  const [copied, setCopied] = useState(false);
  const text = JSON.stringify(value, null, 2);
  async function copy() {
    try {
      await navigator.clipboard.writeText(text);
    } catch {
      // No clipboard permission (plain http on another host): select-and-copy through a textarea.
      const area = document.createElement('textarea');
      area.value = text;
      document.body.appendChild(area);
      area.select();
      document.execCommand('copy');
      area.remove();
    }
    setCopied(true);
    setTimeout(() => setCopied(false), 1500);
  }
  return (
    <div class="json" data-testid={`json-${label}`}>
      <button class="btn btn-small json-copy" onClick={copy} aria-label={`copy ${label} as JSON`}>
        {copied ? 'Copied' : 'Copy'}
      </button>
      <div class="json-tree">
        <Node value={value} depth={0} />
      </div>
    </div>
  );
}

function Node({ value, depth, name, last = true }: { value: unknown; depth: number; name?: string; last?: boolean }) {
  const entries = value !== null && typeof value === 'object' ? (Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value)) : null;
  const [open, setOpen] = useState(depth < OPEN_DEPTH && (entries?.length ?? 0) <= OPEN_ENTRIES);
  const key = name !== undefined ? <span class="json-key">{JSON.stringify(name)}: </span> : null;
  const comma = last ? '' : ',';
  if (!entries) {
    return (
      <div class="json-line">
        {key}
        <span class={`json-${value === null ? 'null' : typeof value}`}>{JSON.stringify(value)}</span>
        {comma}
      </div>
    );
  }
  const [l, r] = Array.isArray(value) ? ['[', ']'] : ['{', '}'];
  if (entries.length === 0) {
    return (
      <div class="json-line">
        {key}
        {l}
        {r}
        {comma}
      </div>
    );
  }
  const isArray = Array.isArray(value);
  return (
    <div class="json-node">
      <div class="json-line">
        <button class="json-toggle" aria-expanded={open} onClick={() => setOpen(!open)} aria-label={open ? 'fold' : 'unfold'}>
          {open ? '▾' : '▸'}
        </button>
        {key}
        {l}
        {!open && (
          <button class="json-folded" onClick={() => setOpen(true)}>
            {entries.length} {isArray ? (entries.length === 1 ? 'item' : 'items') : entries.length === 1 ? 'key' : 'keys'}
          </button>
        )}
        {!open && `${r}${comma}`}
      </div>
      {open && (
        <>
          <div class="json-children">
            {entries.map(([k, v], i) => (
              <Node key={k} value={v} depth={depth + 1} {...(isArray ? {} : { name: k })} last={i === entries.length - 1} />
            ))}
          </div>
          <div class="json-line">
            {r}
            {comma}
          </div>
        </>
      )}
    </div>
  );
}
