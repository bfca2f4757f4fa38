// Reads a IIIF manifest on stdin and says, as JSON, what a real IIIF client
// library (@iiif/parser, from npm) makes of it: whether its validator finds
// it valid (with the errors), and the canvases and rights of the
// normalized manifest. Used by TestIIIFClient.
const { validatePresentation3 } = require('@iiif/parser/presentation-3/validator');
const { normalize } = require('@iiif/parser');

let input = '';
process.stdin.on('data', (d) => { input += d; });
process.stdin.on('end', () => {
  const m = JSON.parse(input);
  const v = validatePresentation3(m);
  const n = normalize(m);
  const man = n.entities.Manifest[n.resource.id];
  const canvases = man.items.map((ref) => {
    const c = n.entities.Canvas[ref.id];
    const page = n.entities.AnnotationPage[c.items[0].id];
    const anno = n.entities.Annotation[page.items[0].id];
    const body = n.entities.ContentResource[anno.body[0].id];
    const service = (body.service || [])[0] || {};
    return { id: c.id, width: c.width, height: c.height, label: c.label, service: service.id || service['@id'] || '' };
  });
  console.log(JSON.stringify({
    valid: v.valid,
    errors: v.issues.filter((i) => i.severity === 'error'),
    canvases,
    rights: man.rights,
  }));
});
