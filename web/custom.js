/* RSoft SMS branding of the Tryton web client (sao).
   sao's index.html loads this file right after dist/tryton-sao.js;
   scripts/install-web copies it into www/. */
(function() {
    'use strict';
    if (typeof Sao === 'undefined') {
        return;
    }
    var NAME = 'RSoft SMS';
    var TAGLINE = 'Pay-TV subscriber management';
    // A broadcast mast: the operator's signal going out to its subscribers.
    var ICON = (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">' +
        '<rect width="32" height="32" rx="6" fill="#0f2540"/>' +
        '<g fill="none" stroke="#f2b134" stroke-width="2" ' +
        'stroke-linecap="round">' +
        '<path d="M10.3 10.3a8 8 0 0 0 0 11.4M21.7 10.3a8 8 0 0 1 0 11.4"/>' +
        '<path d="M13.2 13.2a4 4 0 0 0 0 5.6M18.8 13.2a4 4 0 0 1 0 5.6"/>' +
        '</g><circle cx="16" cy="16" r="2" fill="#ffffff"/>' +
        '<path d="M16 18v9" stroke="#ffffff" stroke-width="2"/></svg>');

    Sao.config.title = NAME;
    Sao.config.icon_colors = ['#1d4e89', '#3e4950', '#f2b134'];
    Sao.config.calendar_colors = ['#ffffff', '#1d4e89'];
    Sao.config.graph_color = '#1d4e89';
    document.title = NAME;

    var brand = function(class_) {
        return jQuery('<div/>', {
            'class': class_,
        }).append(jQuery('<span/>', {
            'class': 'rsoft-brand-icon',
            'aria-hidden': 'true',
        }).html(ICON)).append(jQuery('<span/>', {
            'class': 'rsoft-brand-text',
        }).append(jQuery('<span/>', {
            'class': 'rsoft-brand-name',
        }).text(NAME)).append(jQuery('<span/>', {
            'class': 'rsoft-brand-tagline',
        }).text(TAGLINE)));
    };

    var login_dialog = Sao.Session.login_dialog;
    Sao.Session.login_dialog = function() {
        var dialog = login_dialog.apply(this, arguments);
        dialog.modal.addClass('rsoft-login');
        dialog.header.prepend(brand('rsoft-brand rsoft-brand-login'));
        return dialog;
    };

    jQuery(function() {
        jQuery('#title').text(NAME);
        jQuery('.navbar-brand').attr('title', NAME + ' - ' + TAGLINE);
        jQuery('link[rel="icon"]').attr({
            'type': 'image/svg+xml',
            'href': 'data:image/svg+xml,' + encodeURIComponent(ICON),
        });
    });
}());
