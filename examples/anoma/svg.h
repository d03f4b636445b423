/* A small SVG writer for the charts of `anoma report`: a plot area with
 * axes that maps data coordinates to pixels, lines, boxes, text and a
 * legend, written straight to a FILE. Every text given is escaped for XML;
 * numbers are written with '.' whatever the locale, and with one decimal
 * (a tenth of a pixel), which keeps a chart of many points small. */
#ifndef ANOMA_CLI_SVG_H
#define ANOMA_CLI_SVG_H

#include <stddef.h>
#include <stdio.h>

typedef struct svg_chart {
    FILE *out;
    double width, height;           /* the whole chart, pixels */
    double left, top, plot_w, plot_h; /* the plot area, pixels */
    double x0, x1, y0, y1;          /* data shown across and up the plot area */
    size_t n_legend;                /* legend entries so far */
    size_t n_points;                /* points of the open polyline */
} svg_chart;

/* Write s as XML character data or an attribute value: & < > " ' escaped,
 * control characters other than tab and newline (not allowed in XML 1.0)
 * and bytes that are not UTF-8 written as U+FFFD. */
void svg_escape(FILE *out, const char *s);

/* Open a chart of width x height pixels showing x in [x0, x1] and y in
 * [y0, y1] (an empty range is widened), with a title, axis labels, a frame
 * and about five ticks per axis. x_is_time: x values are epoch seconds,
 * ticks written as UTC dates. */
void svg_begin(svg_chart *c, FILE *out, double width, double height, double x0, double x1,
               double y0, double y1, const char *title, const char *x_label,
               const char *y_label, int x_is_time);
void svg_end(svg_chart *c);

/* Data to pixels (clamped to the plot area). */
double svg_px(const svg_chart *c, double x);
double svg_py(const svg_chart *c, double y);

/* A polyline through points given one at a time; dash NULL for a solid line. */
void svg_line_begin(svg_chart *c, const char *color, double stroke_width, const char *dash);
void svg_line_to(svg_chart *c, double x, double y);
void svg_line_end(svg_chart *c);

/* A filled box between data corners (x0, y0) and (x1, y1). */
void svg_box(const svg_chart *c, double x0, double y0, double x1, double y1, const char *fill,
             double opacity);

/* Text at data point (x, y); anchor "start", "middle" or "end". */
void svg_text(const svg_chart *c, double x, double y, const char *anchor, const char *text);

/* The next legend entry, top right of the plot area: a swatch and a label. */
void svg_legend(svg_chart *c, const char *color, const char *label);

/* The colour of series i (a fixed palette, repeated). */
const char *svg_color(size_t i);

#endif /* ANOMA_CLI_SVG_H */
