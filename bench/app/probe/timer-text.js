(function(){var n=0;function t(){n++;var s=document.getElementById('seconds-left');if(s&&s.firstChild)s.firstChild.nodeValue='あと '+(30-n%30)+' 秒';setTimeout(t,1000-Date.now()%1000+2);}t();})();
