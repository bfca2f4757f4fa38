// Opens a book in Mirador (built into strongroom by scripts/viewer-assets):
// the manifest, the page and the search the page's data attributes give.
(function () {
  var el = document.getElementById('viewer');
  var d = el.dataset;
  if (typeof Mirador === 'undefined') {
    el.textContent = 'The viewer is not built into this strongroom (scripts/viewer-assets, then build again). ' +
      'The book is at ' + d.manifest + ' for any IIIF viewer.';
    return;
  }
  var win = { manifestId: d.manifest, thumbnailNavigationPosition: 'far-bottom', allowClose: false };
  if (d.canvas) { win.canvasId = d.canvas; }
  window.strongroomViewer = Mirador.viewer({
    id: 'viewer',
    windows: [win],
    // With words to find (from a search hit), the search in the book is
    // open, the words in it: the reader runs it (Mirador 4's own
    // defaultSearchQuery ends in an error).
    window: { allowClose: false, allowMaximize: false, allowFullscreen: true, sideBarOpen: !!d.q, defaultSideBarPanel: d.q ? 'search' : 'info' },
    workspaceControlPanel: { enabled: false },
    workspace: { showZoomControls: true },
  });
})();
