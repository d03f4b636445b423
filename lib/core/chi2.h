/* The chi-squared distribution's upper quantile, which the robust
 * covariance (FastMCD's consistency correction and reweighting) needs. */
#ifndef AN_CORE_CHI2_H
#define AN_CORE_CHI2_H

/* x such that P(X > x) = q for X chi-squared with k > 0 degrees of freedom
 * and q in (0, 1): scipy.stats.chi2(k).isf(q), to about 1e-14 relative. */
double an_chi2_isf(double q, double k);

#endif
