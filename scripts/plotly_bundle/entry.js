// plotly.js's core (scatter, and the components: axes, legend, hover, shapes, annotations)
// with the one other trace the classroom's charts draw (sim/app/charts.py).
'use strict';
var Plotly = require('plotly.js/lib/core');
Plotly.register([require('plotly.js/lib/heatmap')]);
module.exports = Plotly;
