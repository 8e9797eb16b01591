/// The page at `GET /docs`: one self-contained HTML document (inline CSS and JavaScript, no
/// external URL, font or CDN, so it works offline and under a strict Content-Security-Policy)
/// that fetches `/openapi.json` and renders every operation grouped by tag: method, path,
/// summary, security, parameters, request body and responses with their schemas (local
/// `$ref`s resolved), plus the component schemas. All text from the document is HTML-escaped.
enum DocsPage {
    static let html: String = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Cirrus API</title>
<style>
:root { --fg: #1c2228; --muted: #5a6570; --line: #d8dde2; --soft: #f4f6f8; --link: #0a58a8; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: var(--fg); background: #fff; }
a { color: var(--link); text-decoration: none; }
a:hover { text-decoration: underline; }
code, pre { font: 13px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace; }
p code, li code, td code, .cons code { background: var(--soft); padding: 0 3px; border-radius: 3px; }
header { padding: 14px 24px; border-bottom: 1px solid var(--line); display: flex; gap: 16px; align-items: baseline; flex-wrap: wrap; }
header h1 { margin: 0; font-size: 21px; }
header .meta { color: var(--muted); font-size: 13px; }
.layout { display: flex; align-items: flex-start; }
nav { position: sticky; top: 0; flex: none; width: 290px; max-height: 100vh; overflow: auto; padding: 12px 14px 40px; border-right: 1px solid var(--line); font-size: 13px; }
nav input { width: 100%; padding: 5px 7px; margin-bottom: 8px; border: 1px solid var(--line); border-radius: 4px; font: inherit; }
nav .buttons { display: flex; gap: 6px; margin-bottom: 10px; }
nav button { flex: 1; padding: 3px 6px; border: 1px solid var(--line); background: var(--soft); border-radius: 4px; font: inherit; cursor: pointer; }
nav h2 { font-size: 12px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); margin: 14px 0 4px; }
nav ul { list-style: none; margin: 0; padding: 0; }
nav li { margin: 1px 0; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
nav li a { color: var(--fg); }
main { flex: 1; min-width: 0; max-width: 1120px; padding: 8px 28px 80px; }
main > h2 { margin: 28px 0 6px; padding-bottom: 4px; border-bottom: 1px solid var(--line); font-size: 19px; }
.tagdesc { color: var(--muted); margin: 0 0 10px; }
details.op { border: 1px solid var(--line); border-radius: 6px; margin: 8px 0; }
details.op > summary { cursor: pointer; padding: 7px 10px; list-style: none; display: flex; gap: 10px; align-items: baseline; flex-wrap: wrap; }
details.op > summary::-webkit-details-marker { display: none; }
details.op[open] > summary { border-bottom: 1px solid var(--line); background: var(--soft); }
.body { padding: 4px 14px 12px; }
.method { display: inline-block; min-width: 62px; text-align: center; font: bold 12px/20px ui-monospace, Menlo, Consolas, monospace; color: #fff; border-radius: 3px; padding: 0 6px; }
.m-get { background: #2f6fb0; } .m-post { background: #2e8b57; } .m-put { background: #b8860b; } .m-patch { background: #8a5cb8; }
.m-delete { background: #c0392b; } .m-head { background: #5f7481; } .m-options, .m-trace { background: #777; }
.path { font-weight: 600; }
.summary { color: var(--muted); }
.lock { font-size: 12px; color: var(--muted); margin-left: auto; }
h4 { margin: 14px 0 4px; font-size: 14px; }
table { border-collapse: collapse; width: 100%; margin: 4px 0; font-size: 13.5px; }
th, td { text-align: left; vertical-align: top; padding: 4px 8px; border-bottom: 1px solid var(--line); }
th { font-weight: 600; color: var(--muted); font-size: 12px; }
td p { margin: 0 0 4px; }
td table { margin-top: 2px; }
.req { font-size: 11px; color: #b03a2e; font-weight: 600; }
.cons { color: var(--muted); font-size: 12.5px; }
.type { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 13px; }
.resp { margin: 8px 0 12px; padding-left: 10px; border-left: 3px solid var(--line); }
.resp.s2 { border-left-color: #2e8b57; } .resp.s3 { border-left-color: #2f6fb0; } .resp.s4 { border-left-color: #d68910; } .resp.s5 { border-left-color: #c0392b; }
.status { font-weight: 700; font-family: ui-monospace, Menlo, Consolas, monospace; margin-right: 6px; }
.media { margin: 4px 0; }
.media > code:first-child { color: var(--muted); }
.note { color: var(--muted); font-size: 13px; margin: 4px 0; }
details.fields > summary { cursor: pointer; color: var(--link); font-size: 12.5px; }
section.schema { border: 1px solid var(--line); border-radius: 6px; padding: 6px 14px 10px; margin: 10px 0; }
section.schema h3 { margin: 4px 0; font-size: 15px; }
.error { color: #b03a2e; }
.hidden { display: none !important; }
@media (max-width: 860px) {
  .layout { display: block; }
  nav { position: static; width: auto; max-height: none; border-right: 0; border-bottom: 1px solid var(--line); }
  main { padding: 8px 14px 60px; }
}
</style>
</head>
<body>
<header><h1 id="title">Cirrus API</h1><span class="meta" id="meta">Loading the OpenAPI document&hellip;</span></header>
<div class="layout">
<nav id="nav" aria-label="Operations"></nav>
<main id="main"><noscript>This page needs JavaScript to render the OpenAPI document; the document itself is at <a href="/openapi.json">/openapi.json</a>.</noscript></main>
</div>
<script>
(function () {
  'use strict';
  var METHODS = ['get', 'head', 'post', 'put', 'patch', 'delete', 'options', 'trace'];
  var doc = null;

  function esc(value) {
    return String(value).replace(/[&<>"']/g, function (c) {
      return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c];
    });
  }
  function slug(text) { return String(text).replace(/[^A-Za-z0-9_-]+/g, '-'); }
  function code(value) { return '<code>' + esc(value) + '</code>'; }
  // Escaped text with `code` spans; blank lines separate paragraphs; "- " lines make a list.
  function inline(text) { return esc(text).replace(/`([^`]+)`/g, '<code>$1</code>'); }
  function prose(text) {
    if (!text) return '';
    return String(text).split(/\n\s*\n/).map(function (block) {
      var lines = block.split('\n');
      if (lines.every(function (l) { return /^- /.test(l); })) {
        return '<ul>' + lines.map(function (l) { return '<li>' + inline(l.slice(2)) + '</li>'; }).join('') + '</ul>';
      }
      return '<p>' + inline(block) + '</p>';
    }).join('');
  }

  // --- $ref resolution (local references only) ---------------------------------------------
  function resolve(ref) {
    if (typeof ref !== 'string' || ref.indexOf('#/') !== 0) return null;
    var node = doc;
    ref.slice(2).split('/').forEach(function (part) {
      part = part.replace(/~1/g, '/').replace(/~0/g, '~');
      node = node && Object.prototype.hasOwnProperty.call(node, part) ? node[part] : null;
    });
    return node;
  }
  function deref(node) {
    for (var hops = 0; node && node.$ref && hops < 32; hops++) node = resolve(node.$ref);
    return node || {};
  }
  function refName(ref) { return String(ref).split('/').pop(); }
  function types(s) { return s.type === undefined ? [] : [].concat(s.type); }

  // allOf parts merged into one object schema, for display.
  function flatten(schema, depth) {
    var s = deref(schema);
    if (!s.allOf || (depth || 0) > 8) return s;
    var merged = { properties: {}, required: [] };
    [s].concat(s.allOf.map(function (part) { return flatten(part, (depth || 0) + 1); })).forEach(function (part) {
      Object.keys(part.properties || {}).forEach(function (k) { merged.properties[k] = part.properties[k]; });
      merged.required = merged.required.concat(part.required || []);
      ['description', 'type', 'if', 'then', 'anyOf', 'oneOf', 'additionalProperties'].forEach(function (k) {
        if (part[k] !== undefined && merged[k] === undefined) merged[k] = part[k];
      });
    });
    return merged;
  }

  function typeLabel(s, depth) {
    depth = depth || 0;
    if (!s || depth > 6) return 'any';
    if (s.$ref) { var n = refName(s.$ref); return '<a href="#schema-' + esc(slug(n)) + '">' + esc(n) + '</a>'; }
    if (s.const !== undefined) return 'constant ' + code(JSON.stringify(s.const));
    if (s.allOf) return s.allOf.map(function (p) { return typeLabel(p, depth + 1); }).join(' + ');
    var t = types(s);
    if (!t.length && s.items) t = ['array'];
    if (!t.length && (s.properties || s.additionalProperties)) t = ['object'];
    var label = t.map(function (x) {
      if (x === 'array') return 'array of ' + typeLabel(s.items || {}, depth + 1);
      if (x === 'object' && !s.properties && s.additionalProperties && typeof s.additionalProperties === 'object') {
        return 'map of ' + typeLabel(s.additionalProperties, depth + 1);
      }
      return esc(x);
    }).join(' | ');
    var alternatives = s.oneOf || s.anyOf;
    if (!label && alternatives && alternatives.some(function (a) { return a.$ref || a.type; })) {
      label = alternatives.map(function (a) { return typeLabel(a, depth + 1); }).join(' | ');
    }
    return label || 'any';
  }

  function constraints(s) {
    var parts = [];
    if (s.format) parts.push(esc(s.format));
    if (s.enum) parts.push('one of ' + s.enum.map(function (v) { return code(JSON.stringify(v)); }).join(', '));
    [['minimum', '>= '], ['maximum', '<= '], ['exclusiveMinimum', '> '], ['exclusiveMaximum', '< '], ['minLength', 'min length '],
     ['maxLength', 'max length '], ['minItems', 'min items '], ['maxItems', 'max items ']].forEach(function (c) {
      if (s[c[0]] !== undefined) parts.push(esc(c[1] + s[c[0]]));
    });
    if (s.pattern) parts.push('pattern ' + code(s.pattern));
    if (s.uniqueItems) parts.push('unique items');
    if (s.propertyNames && s.propertyNames.pattern) parts.push('keys match ' + code(s.propertyNames.pattern));
    if (s.default !== undefined) parts.push('default ' + code(JSON.stringify(s.default)));
    return parts.join(' &middot; ');
  }

  // The object whose fields describe `s`: itself, its array items or its map values.
  function fieldTarget(s) {
    var f = flatten(s);
    if (types(f).indexOf('array') >= 0 || (!types(f).length && f.items)) return flatten(f.items || {});
    if (!f.properties && f.additionalProperties && typeof f.additionalProperties === 'object') return flatten(f.additionalProperties);
    return f;
  }
  function hasFields(s) { return !!(s.properties && Object.keys(s.properties).length); }

  function notes(s) {
    var out = [];
    var alternatives = s.anyOf || s.oneOf;
    if (alternatives && alternatives.every(function (a) { return a.required && !a.properties && !a.$ref && !a.type; })) {
      out.push((s.anyOf ? 'At least one of: ' : 'Exactly one of: ') + alternatives.map(function (a) {
        return a.required.map(code).join(' + ');
      }).join(', ') + '.');
    }
    if (s.if && s.then && s.then.required && s.if.properties) {
      var conditions = Object.keys(s.if.properties).map(function (k) {
        var c = s.if.properties[k];
        return code(k) + (c.const !== undefined ? ' is ' + code(JSON.stringify(c.const)) : '');
      });
      out.push('When ' + conditions.join(' and ') + ', also required: ' + s.then.required.map(code).join(', ') + '.');
    }
    return out.map(function (n) { return '<div class="note">' + n + '</div>'; }).join('');
  }

  function fieldsTable(s, depth) {
    var props = s.properties || {};
    var required = s.required || [];
    var rows = Object.keys(props).map(function (name) {
      var p = props[name];
      var d = deref(p);
      var cell = prose(d.description);
      var c = constraints(d);
      if (c) cell += '<div class="cons">' + c + '</div>';
      // Named schemas are linked (and described under Schemas); anonymous nested objects are shown here.
      var inner = types(d).indexOf('array') >= 0 ? d.items || {} : (!d.properties && typeof d.additionalProperties === 'object' ? d.additionalProperties : d);
      var target = fieldTarget(p);
      if (!p.$ref && !inner.$ref && hasFields(target) && depth < 4) {
        cell += '<details class="fields"><summary>fields</summary>' + fieldsTable(target, depth + 1) + '</details>';
      }
      return '<tr><td>' + code(name) + (required.indexOf(name) >= 0 ? ' <span class="req">required</span>' : '') +
        '</td><td class="type">' + typeLabel(p) + '</td><td>' + cell + '</td></tr>';
    });
    var html = rows.length ? '<table><tr><th>field</th><th>type</th><th>description</th></tr>' + rows.join('') + '</table>' : '';
    return html + notes(s);
  }

  function schemaBlock(schema) {
    if (!schema) return '';
    var d = deref(schema);
    var html = '<div class="type">' + typeLabel(schema) + '</div>';
    var c = constraints(d);
    if (c) html += '<div class="cons">' + c + '</div>';
    var target = fieldTarget(schema);
    html += prose(flatten(schema).description);
    if (hasFields(target)) html += fieldsTable(target, 0); else html += notes(target);
    return html;
  }

  // `brief`: only name the schema (error bodies: the shared Problem, described under Schemas).
  function contentBlock(content, brief) {
    return Object.keys(content || {}).map(function (media) {
      var m = content[media] || {};
      var schema = m.schema ? (brief ? '<span class="type">' + typeLabel(m.schema) + '</span>' : schemaBlock(m.schema)) : '';
      var html = '<div class="media">' + code(media) + ' ' + schema;
      if (m.example !== undefined) html += '<div class="note">Example:</div><pre>' + esc(JSON.stringify(m.example, null, 2)) + '</pre>';
      return html + '</div>';
    }).join('');
  }

  // --- operations ---------------------------------------------------------------------------
  function parametersOf(pathItem, op) {
    var byKey = {};
    (pathItem.parameters || []).concat(op.parameters || []).forEach(function (p) {
      var d = deref(p);
      byKey[d.in + ':' + d.name] = d;
    });
    return Object.keys(byKey).map(function (k) { return byKey[k]; });
  }

  function securityText(op) {
    var requirements = op.security !== undefined ? op.security : (doc.security || []);
    if (!requirements.length || requirements.some(function (r) { return !Object.keys(r).length; })) return 'None (public).';
    var schemes = (doc.components && doc.components.securitySchemes) || {};
    return requirements.map(function (r) {
      return Object.keys(r).map(function (name) {
        var s = schemes[name] || {};
        var how = s.type === 'http' ? esc('HTTP ' + (s.scheme || '') + (s.bearerFormat ? ' (' + s.bearerFormat + ')' : ''))
          : s.type === 'apiKey' ? esc(s.in || '') + ' ' + code(s.name || '') : esc(s.type || '');
        return code(name) + ': ' + how;
      }).join(' and ');
    }).join(' <em>or</em> ') + '.';
  }

  function operationHTML(path, method, pathItem, op, id) {
    var html = '<details class="op" id="' + esc(id) + '"><summary><span class="method m-' + method + '">' + method.toUpperCase() +
      '</span><code class="path">' + esc(path) + '</code><span class="summary">' + esc(op.summary || '') + '</span>' +
      (op.security !== undefined && !op.security.length ? '<span class="lock">public</span>' : '') + '</summary><div class="body">';
    html += prose(op.description);
    if (op.deprecated) html += '<p class="error">Deprecated.</p>';
    html += '<h4>Security</h4><div>' + securityText(op) + '</div>';
    var params = parametersOf(pathItem, op);
    if (params.length) {
      html += '<h4>Parameters</h4><table><tr><th>name</th><th>in</th><th>type</th><th>description</th></tr>' + params.map(function (p) {
        var s = p.schema || {};
        var c = constraints(deref(s));
        return '<tr><td>' + code(p.name) + (p.required ? ' <span class="req">required</span>' : '') + '</td><td>' + esc(p.in) +
          '</td><td class="type">' + typeLabel(s) + '</td><td>' + prose(p.description) + (c ? '<div class="cons">' + c + '</div>' : '') + '</td></tr>';
      }).join('') + '</table>';
    }
    if (op.requestBody) {
      var body = deref(op.requestBody);
      html += '<h4>Request body' + (body.required ? ' <span class="req">required</span>' : '') + '</h4>' + prose(body.description) + contentBlock(body.content);
    }
    html += '<h4>Responses</h4>';
    Object.keys(op.responses || {}).sort().forEach(function (status) {
      var r = deref(op.responses[status]);
      html += '<div class="resp s' + esc(status.charAt(0)) + '"><span class="status">' + esc(status) + '</span>' + inline(r.description || '');
      var headerNames = Object.keys(r.headers || {});
      if (headerNames.length) {
        html += '<table><tr><th>header</th><th>type</th><th>description</th></tr>' + headerNames.map(function (h) {
          var d = deref(r.headers[h]);
          return '<tr><td>' + code(h) + '</td><td class="type">' + typeLabel(d.schema || {}) + '</td><td>' + prose(d.description) + '</td></tr>';
        }).join('') + '</table>';
      }
      html += contentBlock(r.content, status.charAt(0) !== '2') + '</div>';
    });
    return html + '</div></details>';
  }

  function render() {
    var info = doc.info || {};
    document.title = (info.title || 'API') + ' ' + (info.version || '');
    document.getElementById('title').textContent = info.title || 'API';
    document.getElementById('meta').innerHTML = 'version ' + esc(info.version || '?') + ' &middot; OpenAPI ' + esc(doc.openapi || '?') +
      ' &middot; <a href="/openapi.json">openapi.json</a>';

    var groups = {}, order = [];
    (doc.tags || []).forEach(function (t) { groups[t.name] = { tag: t, ops: [] }; order.push(t.name); });
    Object.keys(doc.paths || {}).forEach(function (path) {
      var item = doc.paths[path] || {};
      METHODS.forEach(function (method) {
        var op = item[method];
        if (!op) return;
        var tag = (op.tags && op.tags[0]) || 'Other';
        if (!groups[tag]) { groups[tag] = { tag: { name: tag }, ops: [] }; order.push(tag); }
        groups[tag].ops.push({ path: path, method: method, item: item, op: op, id: 'op-' + slug(op.operationId || method + path) });
      });
    });

    var nav = '<input id="filter" type="search" placeholder="Filter operations" aria-label="Filter operations">' +
      '<div class="buttons"><button type="button" id="expand">Expand all</button><button type="button" id="collapse">Collapse all</button></div>';
    var main = prose(info.description);
    order.forEach(function (name) {
      var g = groups[name];
      if (!g.ops.length) return;
      nav += '<h2>' + esc(name) + '</h2><ul>' + g.ops.map(function (o) {
        return '<li data-op="' + esc(o.id) + '"><a href="#' + esc(o.id) + '"><b>' + o.method.toUpperCase() + '</b> ' + esc(o.path) + '</a></li>';
      }).join('') + '</ul>';
      main += '<h2 id="tag-' + esc(slug(name)) + '">' + esc(name) + '</h2>' + (g.tag.description ? '<p class="tagdesc">' + inline(g.tag.description) + '</p>' : '') +
        g.ops.map(function (o) { return operationHTML(o.path, o.method, o.item, o.op, o.id); }).join('');
    });

    var schemas = (doc.components && doc.components.schemas) || {};
    var names = Object.keys(schemas).sort();
    if (names.length) {
      nav += '<h2>Schemas</h2><ul>' + names.map(function (n) { return '<li><a href="#schema-' + esc(slug(n)) + '">' + esc(n) + '</a></li>'; }).join('') + '</ul>';
      main += '<h2 id="schemas">Schemas</h2>' + names.map(function (n) {
        return '<section class="schema" id="schema-' + esc(slug(n)) + '"><h3>' + esc(n) + '</h3>' + schemaBlock({ $ref: '#/components/schemas/' + n }) + '</section>';
      }).join('');
    }
    document.getElementById('nav').innerHTML = nav;
    document.getElementById('main').innerHTML = main;

    function all() { return Array.prototype.slice.call(document.querySelectorAll('details.op')); }
    document.getElementById('expand').onclick = function () { all().forEach(function (d) { d.open = true; }); };
    document.getElementById('collapse').onclick = function () { all().forEach(function (d) { d.open = false; }); };
    document.getElementById('filter').oninput = function () {
      var needle = this.value.trim().toLowerCase();
      all().forEach(function (d) {
        var hit = !needle || d.querySelector('summary').textContent.toLowerCase().indexOf(needle) >= 0;
        d.classList.toggle('hidden', !hit);
        var li = document.querySelector('li[data-op="' + d.id + '"]');
        if (li) li.classList.toggle('hidden', !hit);
      });
    };
    window.addEventListener('hashchange', openTarget);
    openTarget();
  }

  function openTarget() {
    var id = '';
    try { id = decodeURIComponent(location.hash.slice(1)); } catch (e) { return; }
    var target = id && document.getElementById(id);
    if (target && target.tagName === 'DETAILS') { target.open = true; target.scrollIntoView(); }
  }

  fetch('/openapi.json', { headers: { Accept: 'application/json' }, credentials: 'same-origin' })
    .then(function (response) {
      if (!response.ok) throw new Error('GET /openapi.json answered ' + response.status);
      return response.json();
    })
    .then(function (json) { doc = json; render(); })
    .catch(function (error) {
      document.getElementById('meta').textContent = '';
      document.getElementById('main').innerHTML = '<p class="error">Could not load the OpenAPI document: ' + esc(error.message) + '</p>';
    });
})();
</script>
</body>
</html>
"""#
}
