/* A small SVG writer for the charts of `anoma report` (svg.h). */
#include "svg.h"

#include <math.h>
#include <string.h>
#include <time.h>

enum { MARGIN_LEFT = 60, MARGIN_RIGHT = 16, MARGIN_TOP = 30, MARGIN_BOTTOM = 46 };

static const char *const palette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                      "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};

const char *svg_color(size_t i)
{
    return palette[i % (sizeof palette / sizeof *palette)];
}

/* Length of the valid UTF-8 sequence at s (1-4), or 0 when it is not one
 * (overlong forms, surrogates and code points above U+10FFFF included). */
static size_t utf8_length(const unsigned char *s)
{
    unsigned c = s[0];
    size_t n = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3
                              : (c & 0xF8) == 0xF0 ? 4 : 0;
    if (n == 0 || (n == 2 && c < 0xC2))
        return 0;
    for (size_t k = 1; k < n; k++)
        if ((s[k] & 0xC0) != 0x80)
            return 0;
    if (n == 3 && ((c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] >= 0xA0)))
        return 0;
    if (n == 4 && ((c == 0xF0 && s[1] < 0x90) || c > 0xF4 || (c == 0xF4 && s[1] >= 0x90)))
        return 0;
    return n;
}

void svg_escape(FILE *out, const char *text)
{
    const unsigned char *s = (const unsigned char *)(text ? text : "");
    while (*s) {
        size_t n = utf8_length(s);
        if (n == 0 || (*s < 0x20 && *s != '\t' && *s != '\n')) {
            fputs("\xEF\xBF\xBD", out); /* U+FFFD: not allowed in XML, or not UTF-8 */
            s++;
            continue;
        }
        switch (*s) {
        case '&': fputs("&amp;", out); break;
        case '<': fputs("&lt;", out); break;
        case '>': fputs("&gt;", out); break;
        case '"': fputs("&quot;", out); break;
        case '\'': fputs("&#39;", out); break;
        default: fwrite(s, 1, n, out);
        }
        s += n;
    }
}

double svg_px(const svg_chart *c, double x)
{
    double f = (x - c->x0) / (c->x1 - c->x0);
    f = f < 0 ? 0 : f > 1 ? 1 : f;
    return c->left + f * c->plot_w;
}

double svg_py(const svg_chart *c, double y)
{
    double f = (y - c->y0) / (c->y1 - c->y0);
    f = f < 0 ? 0 : f > 1 ? 1 : f;
    return c->top + (1 - f) * c->plot_h;
}

/* A round tick step giving about `want` ticks over `range`. */
static double tick_step(double range, int want)
{
    double raw = range / want, unit = pow(10, floor(log10(raw)));
    double f = raw / unit;
    return unit * (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10);
}

static void tick_label(FILE *out, double v, double step, int is_time)
{
    char text[40];
    if (is_time) {
        time_t t = (time_t)v;
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(text, sizeof text, step < 86400 ? "%Y-%m-%d %H:%M" : "%Y-%m-%d", &tm);
    } else {
        snprintf(text, sizeof text, "%.4g", fabs(v) < step * 1e-9 ? 0.0 : v);
    }
    svg_escape(out, text);
}

static void axis_ticks(const svg_chart *c, int is_time)
{
    double sx = tick_step(c->x1 - c->x0, is_time ? 4 : 5), sy = tick_step(c->y1 - c->y0, 5);
    for (double v = ceil(c->x0 / sx) * sx; v <= c->x1 + sx * 1e-9; v += sx) {
        double x = svg_px(c, v), y = c->top + c->plot_h;
        fprintf(c->out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" class=\"tick\"/>",
                x, y, x, y + 4);
        fprintf(c->out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">", x, y + 16);
        tick_label(c->out, v, sx, is_time);
        fputs("</text>\n", c->out);
    }
    for (double v = ceil(c->y0 / sy) * sy; v <= c->y1 + sy * 1e-9; v += sy) {
        double y = svg_py(c, v);
        fprintf(c->out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" class=\"grid\"/>",
                c->left, y, c->left + c->plot_w, y);
        fprintf(c->out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">", c->left - 6, y + 4);
        tick_label(c->out, v, sy, 0);
        fputs("</text>\n", c->out);
    }
}

/* [lo, hi] as a range to draw: finite, and not empty. */
static void widen(double *lo, double *hi)
{
    if (!isfinite(*lo) || !isfinite(*hi))
        *lo = 0, *hi = 1;
    if (*hi <= *lo) {
        double pad = *lo != 0 ? fabs(*lo) * 0.05 : 0.5;
        *lo -= pad;
        *hi += pad;
    }
}

void svg_begin(svg_chart *c, FILE *out, double width, double height, double x0, double x1,
               double y0, double y1, const char *title, const char *x_label,
               const char *y_label, int x_is_time)
{
    widen(&x0, &x1);
    widen(&y0, &y1);
    *c = (svg_chart){out, width, height, MARGIN_LEFT, MARGIN_TOP,
                     width - MARGIN_LEFT - MARGIN_RIGHT, height - MARGIN_TOP - MARGIN_BOTTOM,
                     x0, x1, y0, y1, 0, 0};
    fprintf(out, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
                 "viewBox=\"0 0 %.0f %.0f\" role=\"img\">\n<title>", width, height, width, height);
    svg_escape(out, title);
    fputs("</title>\n", out);
    fprintf(out, "<text x=\"%.1f\" y=\"18\" text-anchor=\"middle\" class=\"title\">",
            c->left + c->plot_w / 2);
    svg_escape(out, title);
    fputs("</text>\n", out);
    fprintf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" class=\"frame\"/>\n",
            c->left, c->top, c->plot_w, c->plot_h);
    axis_ticks(c, x_is_time);
    fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">", c->left + c->plot_w / 2,
            height - 8);
    svg_escape(out, x_label);
    fprintf(out, "</text>\n<text transform=\"translate(14 %.1f) rotate(-90)\" "
                 "text-anchor=\"middle\">", c->top + c->plot_h / 2);
    svg_escape(out, y_label);
    fputs("</text>\n", out);
}

void svg_end(svg_chart *c)
{
    fputs("</svg>\n", c->out);
}

void svg_line_begin(svg_chart *c, const char *color, double stroke_width, const char *dash)
{
    fprintf(c->out, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"%.1f\"%s%s%s points=\"",
            color, stroke_width, dash ? " stroke-dasharray=\"" : "", dash ? dash : "",
            dash ? "\"" : "");
    c->n_points = 0;
}

void svg_line_to(svg_chart *c, double x, double y)
{
    fprintf(c->out, "%s%.1f,%.1f", c->n_points++ ? " " : "", svg_px(c, x), svg_py(c, y));
}

void svg_line_end(svg_chart *c)
{
    fputs("\"/>\n", c->out);
}

void svg_box(const svg_chart *c, double x0, double y0, double x1, double y1, const char *fill,
             double opacity)
{
    double a = svg_px(c, x0), b = svg_px(c, x1), top = svg_py(c, y1), bottom = svg_py(c, y0);
    fprintf(c->out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\" "
                    "fill-opacity=\"%.2f\"/>\n",
            fmin(a, b), fmin(top, bottom), fabs(b - a), fabs(bottom - top), fill, opacity);
}

void svg_text(const svg_chart *c, double x, double y, const char *anchor, const char *text)
{
    fprintf(c->out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\">", svg_px(c, x),
            svg_py(c, y), anchor);
    svg_escape(c->out, text);
    fputs("</text>\n", c->out);
}

void svg_legend(svg_chart *c, const char *color, const char *label)
{
    double x = c->left + c->plot_w - 8, y = c->top + 14 + 15 * (double)c->n_legend++;
    fprintf(c->out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"12\" height=\"4\" fill=\"%s\"/>"
                    "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" class=\"legend\">",
            x - 12, y - 4, color, x - 16, y);
    svg_escape(c->out, label);
    fputs("</text>\n", c->out);
}
