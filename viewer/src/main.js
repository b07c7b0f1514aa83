// The map page of `scoresby view`: every COG asset of the run's Items at full resolution, in its own projection.
// Layers come from /_viewer/layers.json (made by the server from collection.json); files from /run/<path>.
import 'ol/ol.css';
import './page.css';
import Map from 'ol/Map.js';
import View from 'ol/View.js';
import TileLayer from 'ol/layer/WebGLTile.js';
import VectorLayer from 'ol/layer/Vector.js';
import VectorSource from 'ol/source/Vector.js';
import GeoTIFF from 'ol/source/GeoTIFF.js';
import GeoJSON from 'ol/format/GeoJSON.js';
import {Stroke, Style} from 'ol/style.js';
import {register} from 'ol/proj/proj4.js';
import {get as getProjection} from 'ol/proj.js';
import {defaults as defaultControls, ScaleLine} from 'ol/control.js';
import proj4 from 'proj4';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);

function status(text) {
  $('status').textContent = text;
}

function rampStyle(legend, masked) {
  const stops = legend.stops;
  const expr = ['interpolate', ['linear'], ['band', 1]];
  stops.forEach((colour, i) => {
    expr.push(legend.min + ((legend.max - legend.min) * i) / (stops.length - 1), colour);
  });
  // With a nodata value the source adds an alpha band (band 2): transparent there.
  return {color: masked ? ['case', ['==', ['band', 2], 0], [0, 0, 0, 0], expr] : expr};
}

function makeLayer(info) {
  const rgb = info.legend.type === 'rgb';
  const nodata = info.nodata === 'nan' ? NaN : info.nodata;
  const source = new GeoTIFF({
    sources: [
      rgb
        ? {url: '/run/' + info.href, min: 0, max: 255, nodata: nodata ?? 0}
        : {url: '/run/' + info.href, bands: [1], nodata: nodata ?? undefined},
    ],
    projection: info.crs,
    normalize: rgb,
    interpolate: false,
    convertToRGB: false,
    transition: 0,
  });
  const layer = new TileLayer({source, visible: false, style: rgb ? undefined : rampStyle(info.legend, nodata !== null && nodata !== undefined)});
  layer.set('info', info);
  return layer;
}

function legendHtml(info) {
  const box = document.createElement('div');
  box.className = 'legend';
  const title = document.createElement('div');
  title.textContent = `${info.asset}: ${info.legend.name}`;
  box.append(title);
  if (info.legend.type === 'ramp') {
    const bar = document.createElement('div');
    bar.className = 'bar';
    bar.style.background = `linear-gradient(to right, ${info.legend.stops.join(', ')})`;
    const labels = document.createElement('div');
    labels.className = 'labels';
    for (const text of [`${info.legend.min} ${info.legend.low}`, `${info.legend.high} ${info.legend.max}`]) {
      const span = document.createElement('span');
      span.textContent = text;
      labels.append(span);
    }
    box.append(bar, labels);
  }
  return box;
}

async function main() {
  const response = await fetch('/_viewer/layers.json');
  const run = await response.json();
  document.title = `Scoresby view: ${run.run}`;
  $('run').textContent = run.title || run.run;
  if (!run.layers.length) {
    status(run.note || 'no COG in this run yet');
    document.body.dataset.ready = '1';
    return;
  }
  for (const info of run.layers) {
    if (!getProjection(info.crs)) {
      proj4.defs(info.crs, info.proj4);
    }
  }
  register(proj4);

  // A "product" is an asset key of a kind at a place (scene true_color, a place's composite, ...).
  const products = [...new Set(run.layers.map((l) => `${l.kind}:${l.asset}`))];
  products.sort((a, b) => (b === 'scene:true_color') - (a === 'scene:true_color'));  // true colour first
  const byProduct = {};
  for (const info of run.layers) {
    (byProduct[`${info.kind}:${info.asset}`] ||= []).push(info);
  }
  const productSelect = $('product');
  for (const p of products) {
    const opt = document.createElement('option');
    opt.value = p;
    opt.textContent = p.startsWith('scene:') ? p.slice(6) : p.replace(':', ' · ');
    productSelect.append(opt);
  }
  const none = document.createElement('option');
  none.value = 'none';
  none.textContent = '(footprints only)';
  productSelect.append(none);
  if (params.get('product') && (products.includes(params.get('product')) || params.get('product') === 'none')) {
    productSelect.value = params.get('product');
  }

  const first = run.layers[0];
  const layers = run.layers.map(makeLayer);
  const footprintSource = new VectorSource();
  const footprints = new VectorLayer({
    source: footprintSource,
    style: new Style({stroke: new Stroke({color: '#1a56c4', width: 1.5, lineDash: [4, 3]})}),
  });
  const map = new Map({
    target: 'map',
    layers: [...layers, footprints],
    controls: defaultControls().extend([new ScaleLine()]),
  });

  // The map is always in the projection of the layer on show, so its pixels are drawn unwarped; moving to
  // a layer of another CRS (another UTM zone) makes a new view there, centred on that layer.
  function useProjection(info) {
    const current = map.getView();
    if (current && current.getProjection().getCode() === info.crs) return;
    const view = new View({projection: info.crs});
    map.setView(view);
    view.fit(info.extent, {padding: [20, 20, 20, 20]});
    footprintSource.clear();
    footprintSource.addFeatures(new GeoJSON().readFeatures(
      {type: 'FeatureCollection', features: run.layers.filter((l) => l.footprint).map((l) => (
        {type: 'Feature', id: l.id, geometry: l.footprint, properties: {item: l.item}}))},
      {dataProjection: 'EPSG:4326', featureProjection: info.crs},
    ));
  }
  window.scoresbyMap = map;

  let current = [];
  let before = [];
  let swipe = Number(params.get('swipe') ?? 100);

  function datesOf(product) {
    if (!byProduct[product]) return [];
    return [...new Set(byProduct[product].map((l) => l.date))].sort();
  }

  function show() {
    const product = productSelect.value;
    const dates = datesOf(product);
    const slider = $('date');
    slider.max = String(Math.max(0, dates.length - 1));
    const i = Math.min(Number(slider.value), dates.length - 1);
    const date = dates[i];
    const beforeSlider = $('before');
    beforeSlider.max = slider.max;
    const j = Math.min(Number(beforeSlider.value), dates.length - 1);
    $('date-label').textContent = date || '–';
    $('before-label').textContent = dates[j] || '–';
    current = layers.filter((l) => l.get('info').date === date && `${l.get('info').kind}:${l.get('info').asset}` === product);
    before = swipe < 100
      ? layers.filter((l) => l.get('info').date === dates[j] && `${l.get('info').kind}:${l.get('info').asset}` === product)
      : [];
    for (const l of layers) {
      l.setVisible(current.includes(l) || before.includes(l));
      l.setZIndex(current.includes(l) ? 2 : 1);
    }
    useProjection(current.length ? current[0].get('info') : first);
    const legends = $('legends');
    legends.replaceChildren(...(current.length ? [legendHtml(current[0].get('info'))] : []));
    document.body.dataset.date = date || '';
    document.body.dataset.shown = current.map((l) => l.get('info').id).join(' ');
    document.body.dataset.ready = '0';
    map.render();
  }

  // The swipe: "before" layers drawn left of the divider, the slider's date right of it (WebGL scissor).
  function clip(event, left) {
    const gl = event.context;
    const width = gl.canvas.width;
    const split = Math.round((width * swipe) / 100);
    gl.enable(gl.SCISSOR_TEST);
    if (left) {
      gl.scissor(0, 0, split, gl.canvas.height);
    } else {
      gl.scissor(split, 0, width - split, gl.canvas.height);
    }
  }
  // The frame each layer was last drawn in ("ready" below needs it).
  const drawnIn = new Map();
  for (const l of layers) {
    l.on('prerender', (event) => {
      if (swipe >= 100) return;
      clip(event, before.includes(l) && !current.includes(l));
    });
    l.on('postrender', (event) => {
      event.context.disable(event.context.SCISSOR_TEST);
      drawnIn.set(l, event.frameState.index);
    });
  }

  $('swipe').value = String(swipe);
  $('swipe').addEventListener('input', () => {
    swipe = Number($('swipe').value);
    $('divider').style.left = `${swipe}%`;
    $('divider').hidden = swipe >= 100;
    show();
  });
  $('divider').style.left = `${swipe}%`;
  $('divider').hidden = swipe >= 100;
  $('date').addEventListener('input', show);
  $('before').addEventListener('input', show);
  productSelect.addEventListener('input', () => {
    $('date').value = '0';
    show();
  });
  $('footprints').addEventListener('input', () => footprints.setVisible($('footprints').checked));

  map.on('singleclick', (event) => {
    const lines = [];
    for (const l of [...current, ...before]) {
      const data = l.getData(event.pixel);
      if (data && data.length) {
        const info = l.get('info');
        const values = Array.from(data).slice(0, info.bands).map((v) => (Number.isInteger(v) ? v : v.toFixed(4)));
        lines.push(`${info.item} · ${info.asset} (${info.date}): ${values.join(', ')}`);
      }
    }
    const [x, y] = event.coordinate;
    lines.unshift(`${map.getView().getProjection().getCode()} x ${x.toFixed(1)}, y ${y.toFixed(1)}`);
    $('values').textContent = lines.join('\n');
    document.body.dataset.clicked = String(lines.length - 1);
  });

  const dates = datesOf(productSelect.value);
  $('date').max = String(Math.max(0, dates.length - 1));
  $('before').max = $('date').max;
  $('date').value = params.get('date') ?? String(dates.length - 1);
  $('before').value = params.get('before') ?? '0';
  show();
  // "ready": every shown layer's COG header read and its tiles drawn (a test waits for it before a screenshot).
  // A rendercomplete can end a frame a layer whose COG header had just been read was not yet drawn in, so
  // each layer must have been drawn in the very frame that rendercomplete ends.
  map.on('rendercomplete', (event) => {
    const frame = event.frameState.index;
    if ([...current, ...before].every((l) => l.getSource().getState() === 'ready' && drawnIn.get(l) === frame)) {
      document.body.dataset.ready = '1';
    }
  });
  status(`${run.layers.length} layers · ${products.length} products`);
}

main().catch((err) => {
  status(`error: ${err}`);
  console.error(err);
});
