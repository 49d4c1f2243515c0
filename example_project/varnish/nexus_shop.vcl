vcl 4.1;

import std;

# Varnish in front of nexus_shop, purged by nexus_shop.http_cache.purge.VarnishPurge.
#
# nexus_shop tags each public read with Surrogate-Key ("catalogue product-list product-42
# category-7") and, on every committed change, sends "BAN /" with the keys to purge in
# X-Purge-Keys. Bans on obj.http.* are checked at lookup and by the ban lurker, so a purged
# page is never served again. Set the backend to your app server; keep the purgers ACL to
# the hosts that run the app.

backend default {
    .host = "127.0.0.1";
    .port = "8000";
}

acl purgers {
    "127.0.0.1";
    "::1";
}

sub vcl_recv {
    if (req.method == "BAN") {
        if (!client.ip ~ purgers) {
            return (synth(405, "BAN not allowed from this address"));
        }
        if (!req.http.X-Purge-Keys || req.http.X-Purge-Keys !~ "^[A-Za-z0-9_ -]+$") {
            return (synth(400, "X-Purge-Keys missing or malformed"));
        }
        ban("obj.http.Surrogate-Key ~ (^|\s)(" +
            regsuball(regsuball(req.http.X-Purge-Keys, "^\s+|\s+$", ""), "\s+", "|") +
            ")(\s|$)");
        return (synth(200, "Banned"));
    }
    # Everything else follows Varnish's built-in rules: requests with Authorization or
    # Cookie headers, and anything but GET/HEAD, go to the backend uncached.
}

sub vcl_backend_response {
    # The backend says how long a CDN may keep a public read: s-maxage (Cache-Control)
    # and Surrogate-Control. The browser gets max-age=0 and revalidates with its ETag.
    if (beresp.http.Surrogate-Control ~ "max-age=[0-9]+") {
        set beresp.ttl = std.duration(
            regsub(beresp.http.Surrogate-Control, ".*max-age=([0-9]+).*", "\1s"), 0s);
    }
}

sub vcl_deliver {
    if (obj.hits > 0) {
        set resp.http.X-Varnish-Cache = "HIT";
    } else {
        set resp.http.X-Varnish-Cache = "MISS";
    }
    # For Varnish only: clients need neither.
    unset resp.http.Surrogate-Control;
}
