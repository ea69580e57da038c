(function(){var n=0;function t(){n++;setTimeout(t,1000-Date.now()%1000+2);}t();})();
