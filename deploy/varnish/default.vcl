vcl 4.1;

# Varnish 7.1 (Debian) in front of `lifeceo serve`, with vmod_xkey from varnish-modules.
#
# Run: varnishd -a :6081 -f /etc/varnish/default.vcl -s malloc,256m (Debian's varnish.service
# does this), and start lifeceo with LIFECEO_VARNISH_PURGE_URLS=http://127.0.0.1:6081/.
#
# Backend address: the two lines marked "backend-address" name lifeceo's default
# (127.0.0.1:8000, LIFECEO_HOST/LIFECEO_PORT); change them to match. The integration test
# (tests/integration/platform/httpcache/) rewrites exactly those two lines.
#
# Purging: the application sends `PURGE /` with an `xkey-purge: key1 key2` header to every
# address in LIFECEO_VARNISH_PURGE_URLS after a successful write; responses name their entities
# in an `xkey` header (and `Surrogate-Key`, for other CDNs). Only the `purgers` ACL may purge.
#
# Requests with an Authorization header or the lifeceo_session cookie are passed to the
# application, never cached; other cookies are dropped from cacheable requests.
#
# Only responses whose Cache-Control says public are stored. Freshness comes from the
# application's Cache-Control: public, max-age=N,
# stale-while-revalidate=M, stale-if-error=E. Varnish reads max-age and stale-while-revalidate
# itself; stale-if-error becomes the grace used while the backend is sick.

import std;
import xkey;

backend lifeceo {
    .host = "127.0.0.1";  # backend-address
    .port = "8000";  # backend-address
    .connect_timeout = 1s;
    .first_byte_timeout = 30s;
    .between_bytes_timeout = 10s;
    # Liveness, not readiness: a degraded dependency must not take every page offline when
    # stale copies could be served. Two failures in a row (about 2 s) mark the backend sick.
    .probe = {
        .url = "/api/health";
        .timeout = 1s;
        .interval = 1s;
        .window = 3;
        .threshold = 2;
        .initial = 2;
    }
}

acl purgers {
    "127.0.0.1";
    "::1";
}

sub vcl_recv {
    if (req.method == "PURGE") {
        if (client.ip !~ purgers) {
            return (synth(403, "Forbidden"));
        }
        if (!req.http.xkey-purge) {
            return (synth(400, "Missing xkey-purge header"));
        }
        # A hard purge: the next reader must see the change, not a graced copy of the old page.
        set req.http.x-purged = xkey.purge(req.http.xkey-purge);
        return (synth(200, "Purged " + req.http.x-purged + " objects"));
    }
    if (req.method != "GET" && req.method != "HEAD") {
        return (pass);
    }
    # Credentials make the answer personal (liked_by_me, private posts, /me).
    if (req.http.Authorization || req.http.Cookie ~ "(^|;)\s*lifeceo_session=") {
        return (pass);
    }
    # Any other cookie (the CSRF token) does not change an anonymous page; keeping it would
    # split the cache per visitor.
    unset req.http.Cookie;
    if (std.healthy(req.backend_hint)) {
        # Healthy backend: stale copies only within stale-while-revalidate (the application's
        # http_stale_while_revalidate_seconds), refreshed in the background. A sick backend
        # leaves the object's full grace (stale-if-error) in force.
        set req.grace = 30s;
    }
    return (hash);
}

sub vcl_backend_response {
    # A failed background refresh keeps the stale copy instead of caching the error.
    if (bereq.is_bgfetch && beresp.status >= 500) {
        return (abandon);
    }
    # Only what the application marks public is kept: private answers (media that only a post's
    # followers or its owner may read) and anything unmarked go to the client alone. A
    # hit-for-miss for two minutes, as the built-in VCL makes: the next fetch may be stored.
    if (beresp.http.Cache-Control !~ "(^|,)\s*public(,|$)") {
        set beresp.ttl = 120s;
        set beresp.uncacheable = true;
        return (deliver);
    }
    if (beresp.http.Cache-Control ~ "stale-if-error=[0-9]+") {
        set beresp.grace = std.duration(
            regsub(beresp.http.Cache-Control, "^.*stale-if-error=([0-9]+).*$", "\1s"), 0s);
    }
}

sub vcl_backend_error {
    if (bereq.is_bgfetch) {
        return (abandon);
    }
}

sub vcl_deliver {
    if (obj.uncacheable) {
        set resp.http.X-Cache = "PASS";
    } elsif (obj.hits > 0) {
        set resp.http.X-Cache = "HIT";
    } else {
        set resp.http.X-Cache = "MISS";
    }
    # Internal: which entities a page shows is nobody else's business.
    unset resp.http.xkey;
    unset resp.http.Surrogate-Key;
}
