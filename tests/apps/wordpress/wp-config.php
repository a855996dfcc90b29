<?php
/*
 * WordPress on the hosting platform (the integration test's site; the WordPress files themselves
 * come from Debian's packages, see tests/integration/support/wordpress.py). Nothing secret is in
 * the repository: the database comes from the MYSQL_* variables the platform gives a site with a
 * MariaDB database, the keys from the site's env var WORDPRESS_SECRET. wp-content is a writable
 * path of the site (hosting.toml): uploads, themes and plugins persist in the site's /data.
 */
define('DB_NAME', getenv('MYSQL_DATABASE'));
define('DB_USER', getenv('MYSQL_USER'));
define('DB_PASSWORD', getenv('MYSQL_PASSWORD'));
define('DB_HOST', getenv('MYSQL_HOST') . ':' . getenv('MYSQL_PORT'));
define('DB_CHARSET', 'utf8mb4');
define('DB_COLLATE', '');

// One secret in the site's config, a distinct key for each of WordPress's purposes.
foreach (['AUTH_KEY', 'SECURE_AUTH_KEY', 'LOGGED_IN_KEY', 'NONCE_KEY',
          'AUTH_SALT', 'SECURE_AUTH_SALT', 'LOGGED_IN_SALT', 'NONCE_SALT'] as $name) {
    define($name, hash_hmac('sha256', $name, (string) getenv('WORDPRESS_SECRET')));
}

$table_prefix = 'wp_';

// WordPress's own files are the release (a read-only /app): updates come with a new deploy.
define('AUTOMATIC_UPDATER_DISABLED', true);
define('WP_DEBUG', false);

if (!defined('ABSPATH')) {
    define('ABSPATH', __DIR__ . '/');
}
require_once ABSPATH . 'wp-settings.php';
